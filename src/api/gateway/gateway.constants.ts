import { Inject } from '@nestjs/common';

/** GatewayModuleOptions, as given to `GatewayModule.forRoot` / `forRootAsync`. */
export const GATEWAY_MODULE_OPTIONS = Symbol('GATEWAY_MODULE_OPTIONS');
export const InjectGatewayModuleOptions = (): ParameterDecorator => Inject(GATEWAY_MODULE_OPTIONS);

/**
 * The WeChat path families the gateway forwards to: every one takes the account's basic access_token as
 * `?access_token=`. Not `/sns/` (OAuth: a per-user token and the AppSecret, never the basic token), not `/pay/`.
 */
export const GATEWAY_PATH_PREFIXES: readonly string[] = [
  '/cgi-bin/',
  '/wxaapi/',
  '/datacube/',
  '/customservice/',
  '/card/',
  '/wxa/',
];

/**
 * Token calls stay with the hub: forwarding them would rotate or fetch tokens behind the token plane's back.
 * Lower-case (compared by isTokenPath, which folds case and trailing dots); the Open Platform's component and
 * authorizer token calls included.
 */
export const TOKEN_PATHS: ReadonlySet<string> = new Set([
  '/cgi-bin/token',
  '/cgi-bin/stable_token',
  '/cgi-bin/component/api_component_token',
  '/cgi-bin/component/api_authorizer_token',
  '/cgi-bin/component/api_query_auth',
]);
