import type { OpenAPIObject, OperationObject, ParameterObject, PathItemObject } from '@nestjs/swagger';
import { ERROR_DESCRIPTIONS } from './api-error-responses.decorator';
import { ADMIN_KEY_SCHEME } from './openapi.constants';
import { GATEWAY_PATH_PREFIXES } from '../api/gateway/gateway.constants';

const ERROR_REF = { $ref: '#/components/schemas/ErrorResponse' };
const WECHAT_ERROR_REF = { $ref: '#/components/schemas/WechatError' };

function error(description: string): {
  description: string;
  content: { 'application/json': { schema: object } };
} {
  return { description, content: { 'application/json': { schema: ERROR_REF } } };
}

const APP_ID: ParameterObject = {
  name: 'appId',
  in: 'path',
  required: true,
  description: 'A configured AppID.',
  schema: { type: 'string' },
  example: 'wxAPPID',
};

const WECHAT_PATH: ParameterObject = {
  name: 'wechatPath',
  in: 'path',
  required: true,
  description:
    "The rest of the URL: WeChat's API path without the leading slash, slashes included (e.g. " +
    '`cgi-bin/menu/get`), under cgi-bin/, wxaapi/, datacube/, customservice/, card/ or wxa/. The query ' +
    'string goes along as given.',
  schema: { type: 'string' },
  example: 'cgi-bin/menu/get',
};

const WECHAT_ANSWER = {
  description: "WeChat's answer, passed through as it came (status, content type, body; media streamed).",
  content: { 'application/json': { schema: { type: 'object', additionalProperties: true } } },
};

function gatewayOperation(method: 'get' | 'post' | 'head'): OperationObject {
  const operation: OperationObject = {
    tags: ['gateway'],
    operationId: `gateway_${method}`,
    summary: {
      get: 'Call a WeChat API (GET) with the hub injecting the token',
      post: 'Call a WeChat API (POST) with the hub injecting the token',
      head: 'As GET, without the body',
    }[method],
    description:
      "Forwards to `WECHAT_API_BASE_URL/<wechatPath>` with the account's current access_token as " +
      '`?access_token=` (any access_token the caller sends is dropped). Bodies and media stream both ways ' +
      '(JSON, XML, multipart uploads up to 20 MiB). When WeChat answers 40001/40014/42001, the token is ' +
      'reported (compare-and-refresh) and the call is sent once more — bodies up to 1 MiB are replayed, larger ' +
      "streamed ones are not and come back with WeChat's error. Other methods than GET, POST and HEAD get 405. " +
      'The token endpoints themselves are never forwarded (400): get tokens from the hub.',
    security: [{ [ADMIN_KEY_SCHEME]: [] }],
    parameters: [APP_ID, WECHAT_PATH],
    responses: {
      200: WECHAT_ANSWER,
      400: error('Not a plain WeChat API path, a path outside the forwarded families, or a token endpoint.'),
      401: error(ERROR_DESCRIPTIONS[401]),
      403: error(ERROR_DESCRIPTIONS[403]),
      404: error('Unknown account.'),
      405: error('A method other than GET, POST or HEAD.'),
      413: error('Body larger than the gateway accepts (20 MiB).'),
      429: error('Too many failed authentications from this address; wait a minute.'),
      502: error('WeChat could not be reached or broke the connection.'),
      503: error(ERROR_DESCRIPTIONS[503]),
      504: error('WeChat did not answer within UPSTREAM_TIMEOUT_MS.'),
    },
  };
  if (method === 'post') {
    operation.requestBody = {
      required: false,
      description: "WeChat's request body, any content type, streamed through unchanged.",
      content: {
        'application/json': { schema: { type: 'object', additionalProperties: true } },
        'multipart/form-data': { schema: { type: 'object', additionalProperties: true } },
        '*/*': { schema: { type: 'string', format: 'binary' } },
      },
    };
  }
  return operation;
}

function passThroughOperation(prefix: string, method: 'get' | 'post'): OperationObject {
  const family = prefix.replace(/\//g, '');
  return {
    tags: ['compat'],
    operationId: `${family.replace(/[-_](.)/g, (_m, c: string) => c.toUpperCase())}PassThrough_${method}`,
    summary:
      prefix === '/cgi-bin/'
        ? `SDK pass-through: any other /cgi-bin/* call (${method.toUpperCase()})`
        : `SDK pass-through: ${prefix}* calls (${method.toUpperCase()})`,
    description:
      'For SDKs whose API host is the hub. A call carrying an access_token the hub handed out is forwarded to ' +
      "WeChat with the account's current token (a stale one is swapped, token errors are repaired once). An " +
      "unknown or missing token gets WeChat's 40001 / 41001 without any upstream call, so the hub is not an " +
      'open proxy. Errors are WeChat-shaped.',
    parameters: [
      {
        name: 'wechatPath',
        in: 'path',
        required: true,
        description: `The rest of the ${prefix} path, slashes included.`,
        schema: { type: 'string' },
        example: prefix === '/cgi-bin/' ? 'menu/get' : 'getusersummary',
      },
      {
        name: 'access_token',
        in: 'query',
        required: true,
        description:
          'A token the hub handed out (from /cgi-bin/token, /cgi-bin/stable_token or the admin API).',
        schema: { type: 'string' },
        example: 'ACCESS_TOKEN',
      },
    ],
    ...(method === 'post'
      ? {
          requestBody: {
            required: false,
            description: "WeChat's request body, streamed through unchanged.",
            content: { '*/*': { schema: { type: 'string', format: 'binary' } } },
          },
        }
      : {}),
    responses: {
      200: {
        description:
          "WeChat's answer as it came, or `{errcode, errmsg}` (40001 unknown token, 41001 none, -1 failure).",
        content: {
          'application/json': {
            schema: { oneOf: [{ type: 'object', additionalProperties: true }, WECHAT_ERROR_REF] },
          },
        },
      },
      404: {
        description: 'Not a plain path: `{"errcode": -1, "errmsg": "this path is not served by wxhub"}`.',
        content: { 'application/json': { schema: WECHAT_ERROR_REF } },
      },
      413: {
        description: 'Body too large: errcode 40006.',
        content: { 'application/json': { schema: WECHAT_ERROR_REF } },
      },
    },
  };
}

const CALLBACK_QUERY: ParameterObject[] = [
  {
    name: 'signature',
    in: 'query',
    required: true,
    schema: { type: 'string' },
    description: 'SHA-1 of the callback token, timestamp and nonce.',
  },
  { name: 'timestamp', in: 'query', required: true, schema: { type: 'string' } },
  { name: 'nonce', in: 'query', required: true, schema: { type: 'string' } },
];

const FOR_WECHAT_ONLY =
  "For WeChat's servers only, not a client API: set `https://<host>/wechat/<appId>` as the server URL in the " +
  'WeChat console. Listed so that operators see its contract (and what its refusals mean) next to the rest.';

function callbackPathItem(): PathItemObject {
  const appId = { ...APP_ID, description: 'The account the push is for.' };
  const refusals = {
    400: error('Malformed XML, undecryptable or foreign-AppID ciphertext, plaintext to a safe-mode account.'),
    401: error('Bad or missing signature, or a timestamp outside CALLBACK_MAX_CLOCK_SKEW_SECONDS.'),
    404: error('Unknown account or no callback token configured.'),
    413: error('Body over 64 KB.'),
  };
  return {
    get: {
      tags: ['callback'],
      operationId: 'wechatCallback_verify',
      summary: "WeChat only: the console's URL check",
      description: `${FOR_WECHAT_ONLY} Answers \`echostr\` as plain text when the signature is right.`,
      parameters: [
        appId,
        ...CALLBACK_QUERY,
        { name: 'echostr', in: 'query', required: true, schema: { type: 'string' } },
      ],
      responses: {
        200: {
          description: 'The `echostr`, as plain text.',
          content: { 'text/plain': { schema: { type: 'string' } } },
        },
        401: refusals[401],
        404: refusals[404],
      },
    },
    post: {
      tags: ['callback'],
      operationId: 'wechatCallback_receive',
      summary: 'WeChat only: message and event push',
      description:
        `${FOR_WECHAT_ONLY} Verifies, decrypts (compatible/safe mode), de-duplicates WeChat's retries, runs the ` +
        'matching handler and answers within 5 s: a passive reply (XML, encrypted in safe mode) or `success`.',
      parameters: [
        appId,
        ...CALLBACK_QUERY,
        { name: 'openid', in: 'query', required: false, schema: { type: 'string' } },
        { name: 'encrypt_type', in: 'query', required: false, schema: { type: 'string', enum: ['aes'] } },
        {
          name: 'msg_signature',
          in: 'query',
          required: false,
          schema: { type: 'string' },
          description: 'Compatible and safe mode.',
        },
      ],
      requestBody: {
        required: true,
        description: "WeChat's XML push.",
        content: {
          'text/xml': { schema: { type: 'string' } },
          'application/xml': { schema: { type: 'string' } },
        },
      },
      responses: {
        200: {
          description: 'A passive reply (XML) or `success` (plain text).',
          content: {
            'application/xml': { schema: { type: 'string' } },
            'text/plain': { schema: { type: 'string' } },
          },
        },
        ...refusals,
      },
    },
  };
}

/**
 * Adds what Swagger cannot see or describe from decorators: the gateway and the SDK pass-through (`/cgi-bin/*`
 * and the other API families of GATEWAY_PATH_PREFIXES),
 * raw Fastify routes (see GatewayRoutes), and the WeChat callback, whose controller belongs to the callback
 * plane and whose scanned entry would describe WeChat's query as a client API.
 */
export function addRawRoutes(document: OpenAPIObject): void {
  document.paths['/gateway/{appId}/{wechatPath}'] = {
    get: gatewayOperation('get'),
    post: gatewayOperation('post'),
    head: gatewayOperation('head'),
  };
  for (const prefix of GATEWAY_PATH_PREFIXES) {
    document.paths[`${prefix}{wechatPath}`] = {
      get: passThroughOperation(prefix, 'get'),
      post: passThroughOperation(prefix, 'post'),
    };
  }
  document.paths['/wechat/{appId}'] = callbackPathItem();
}
