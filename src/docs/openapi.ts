import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { ErrorResponseDto, WechatErrorDto } from './error-response.dto';
import { ADMIN_KEY_SCHEME, DOCS_PATH } from './openapi.constants';
import { addRawRoutes } from './raw-routes.openapi';

const DESCRIPTION = [
  'wxhub owns WeChat Official Account credentials for a fleet of services: one correct `access_token` per ',
  'account, the callback endpoint and an API gateway.\n\n',
  '- **Admin API** (`/api/v1/*`) and **gateway** (`/gateway/*`): `Authorization: Bearer <key>`, one of ',
  '`ADMIN_API_KEYS` (optionally limited to `ADMIN_ALLOWED_IPS`). Errors are `{statusCode, error, message}`.\n',
  "- **Compat** (`/cgi-bin/*`): WeChat's own token endpoints and a pass-through for existing SDKs, ",
  'authenticated like WeChat (appid + secret, or a token the hub handed out). Errors are `{errcode, errmsg}`.\n',
  '- **Health** and **metrics**: unauthenticated.\n\n',
  'Token reads are the hot path of every client and are never rate-limited per client.',
].join('');

const TAGS: [name: string, description: string][] = [
  ['accounts', "Accounts' token state"],
  ['tokens', 'Read, report and refresh access tokens'],
  ['tickets', 'JS-SDK tickets and wx.config signatures'],
  ['reload', 'Apply changed accounts without a restart'],
  ['exchange', 'Code exchanges signed with the AppSecret the hub keeps (Mini Program login, OAuth)'],
  ['audit', 'Who forced, reported, reloaded or cleared quota, when, and with what result'],
  ['compat', 'Drop-ins for existing WeChat SDKs (WeChat-shaped requests and answers)'],
  ['gateway', "WeChat's API through the hub, token injected"],
  ['health', 'Health and orchestrator probes'],
  ['metrics', 'Prometheus exporter'],
  ['callback', "WeChat's server push (for WeChat only)"],
];

/** The version of the package wxhub runs from (dist/docs → package root, as src/docs in tests). */
function packageVersion(): string {
  try {
    const text = readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8');
    return (JSON.parse(text) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * Request bodies of Nest routes are checked by the global ValidationPipe with `forbidNonWhitelisted`: say so
 * in their schemas. `/cgi-bin/*` bodies are WeChat's, which ignores unknown fields.
 */
function markStrictBodies(document: OpenAPIObject): void {
  const schemas = document.components?.schemas ?? {};
  for (const [path, item] of Object.entries(document.paths)) {
    if (path.startsWith('/cgi-bin/')) continue;
    for (const operation of [item.get, item.post, item.put, item.patch, item.delete]) {
      const body = operation?.requestBody;
      if (!body || '$ref' in body) continue;
      const ref = (body.content['application/json']?.schema as { $ref?: string } | undefined)?.$ref;
      const schema = ref ? schemas[ref.replace('#/components/schemas/', '')] : undefined;
      if (schema && !('$ref' in schema)) schema.additionalProperties = false;
    }
  }
}

/**
 * @nestjs/terminus's `@HealthCheck()` documents its answers Swagger-2 style (`schema` on the response object),
 * which OpenAPI 3 forbids; the routes' own decorators already give `content`. A stray `schema` is moved into
 * `content` where there is none, and dropped otherwise.
 */
function moveResponseSchemas(document: OpenAPIObject): void {
  for (const item of Object.values(document.paths)) {
    for (const operation of [item.get, item.post, item.put, item.patch, item.delete, item.head]) {
      for (const response of Object.values(operation?.responses ?? {})) {
        const legacy = response as { schema?: object; content?: Record<string, { schema?: object }> };
        if (!legacy.schema) continue;
        legacy.content ??= { 'application/json': { schema: legacy.schema } };
        delete legacy.schema;
      }
    }
  }
}

/**
 * The OpenAPI 3 document of the application: every Nest route from its decorators, plus the raw Fastify
 * routes (gateway, SDK pass-through) and the WeChat callback. It holds nothing from the configuration (no
 * AppID, no key, no server address), so it is the same for every deployment.
 */
export function buildOpenApiDocument(app: NestFastifyApplication): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('wxhub')
    .setDescription(DESCRIPTION)
    .setVersion(packageVersion())
    .setLicense('MIT', 'https://opensource.org/licenses/MIT')
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'API key',
        description: 'One of ADMIN_API_KEYS (at least 16 characters).',
      },
      ADMIN_KEY_SCHEME,
    );
  for (const [name, description] of TAGS) builder.addTag(name, description);
  const document = SwaggerModule.createDocument(app, builder.build(), {
    extraModels: [ErrorResponseDto, WechatErrorDto],
    autoTagControllers: false,
    operationIdFactory: (controllerKey, methodKey) =>
      `${controllerKey.replace(/Controller$/, '')}_${methodKey}`,
  });
  addRawRoutes(document);
  moveResponseSchemas(document);
  markStrictBodies(document);
  return document;
}

/**
 * Whether @fastify/static (which serves the Swagger UI's files) can be loaded here. It can under Node ≥ 20.19,
 * which loads its ES-module dependencies; a runtime that cannot (jest before Node 24.9, in a host app's tests)
 * must not make Nest's loader end the process.
 */
function staticFilesLoadable(): boolean {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a probe: loading is what is checked
    require('@fastify/static');
    return true;
  } catch {
    return false;
  }
}

/**
 * `/docs/` answers a redirect to `/docs` (its query kept). The Swagger UI page loads its files by relative paths
 * and is built for one of the two addresses by whether the URL ends with `/`; a query after the slash
 * (`/docs/?x`) got the page of the other address, whose files then 404: a blank page. The redirect is relative
 * (`../docs`), so it also works behind a reverse proxy that serves the hub under a path. Registered before
 * SwaggerModule's own `/docs/` route, which then steps aside.
 */
function serveTrailingSlashPage(app: NestFastifyApplication): void {
  app.getHttpAdapter().get(`${DOCS_PATH}/`, (request: { url: string }, reply: FastifyReply) => {
    const query = request.url.indexOf('?');
    void reply.redirect(`..${DOCS_PATH}${query === -1 ? '' : request.url.slice(query)}`, 302);
  });
}

/**
 * Serves the Swagger UI at `/docs` and the document at `/docs/json` and `/docs/yaml`. Only routes are added
 * (no hook, no parser), so no other route does any more work per request; call it before `listen`. Where
 * @fastify/static cannot be loaded, only the document is served, with a warning.
 */
export function setupOpenApi(app: NestFastifyApplication): void {
  const ui = staticFilesLoadable();
  if (!ui) {
    new Logger('OpenApi').warn(
      `@fastify/static cannot be loaded in this runtime: ${DOCS_PATH}/json and ${DOCS_PATH}/yaml are served, the Swagger UI is not`,
    );
  }
  if (ui) serveTrailingSlashPage(app);
  // built on the first request for it, not at boot: restarts stay as fast as without docs
  SwaggerModule.setup(DOCS_PATH, app, () => buildOpenApiDocument(app), {
    ui,
    jsonDocumentUrl: `${DOCS_PATH}/json`,
    yamlDocumentUrl: `${DOCS_PATH}/yaml`,
    customSiteTitle: 'wxhub API',
  });
}
