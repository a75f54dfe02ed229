/** Where the Swagger UI is served; the document is at `${DOCS_PATH}/json` and `${DOCS_PATH}/yaml`. */
export const DOCS_PATH = '/docs';

/** Name of the bearer security scheme of the admin API keys (ADMIN_API_KEYS). */
export const ADMIN_KEY_SCHEME = 'admin-key';
