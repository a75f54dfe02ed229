/** A WeChat AppID: `wx` followed by 16 letters or digits (Official Accounts, Mini Programs, Open Platform). */
export const APP_ID_PATTERN = /^wx[0-9a-zA-Z]{16}$/;

/** The validation message for a value that does not match {@link APP_ID_PATTERN}. */
export const APP_ID_MESSAGE = 'appId must be "wx" followed by 16 letters or digits';
