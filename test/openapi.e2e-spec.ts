import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { resolve } from 'node:path';
import { AppModule } from '../src/app.module';
import { createApp } from '../src/create-app';
import { SANDBOX_ADMIN_KEY, SANDBOX_DEMO_ACCOUNT } from '../src/sandbox/sandbox.constants';
import { repoRoot, spawnNode, startHub, startSimulator, type ChildHandle } from './support/processes';

/*
 * GET /docs (Swagger UI) and /docs/json (the OpenAPI document) of real hub processes (dist/main.js): one in
 * production mode with two configured accounts against a simulator process, one started with an empty
 * environment (sandbox mode, as `npm start` on a fresh machine). The router itself is listed by
 * test/fixtures/list-routes.js, a process that builds the service as main.js does, so that any route the
 * service serves without documentation fails here.
 */

type Hub = ChildHandle & { url: string };

interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; required?: boolean; schema?: unknown; content?: unknown }[];
  requestBody?: { content: Record<string, { schema?: { $ref?: string } }> };
  responses: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
}

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: unknown;
  $ref?: string;
}

interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  tags?: { name: string }[];
  security?: unknown;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; securitySchemes: Record<string, Record<string, string>> };
}

interface RouterListing {
  routes: { method: string | string[]; url: string }[];
  rootHooks: Record<string, number>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function secret(length: number): string {
  return randomBytes(length)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .padEnd(length, 'Q')
    .slice(0, length);
}

const ACCOUNTS = [
  {
    appId: `wx${secret(16)}`,
    appSecret: secret(32),
    token: secret(20),
    encodingAESKey: secret(43),
    messageMode: 'safe',
    tokenEndpoint: 'stable',
  },
  {
    appId: `wx${secret(16)}`,
    appSecret: secret(40),
    token: secret(12),
    messageMode: 'plain',
    tokenEndpoint: 'legacy',
  },
];
const KEY = `docs${secret(28)}`;
const SECOND_KEY = `docs${secret(36)}`;
/** Every configured value the document must not contain. */
const CONFIGURED = [
  ...ACCOUNTS.flatMap((a) =>
    [a.appId, a.appSecret, a.token, a.encodingAESKey].filter((v) => v !== undefined),
  ),
  KEY,
  SECOND_KEY,
];

const ADMIN_ROUTES: [method: string, path: string][] = [
  ['get', '/api/v1/accounts'],
  ['get', '/api/v1/accounts/{appId}/token'],
  ['post', '/api/v1/accounts/{appId}/token/invalid'],
  ['post', '/api/v1/accounts/{appId}/token/refresh'],
  ['post', '/api/v1/accounts/reload'],
  ['get', '/api/v1/accounts/{appId}/tickets/{type}'],
  ['get', '/api/v1/accounts/{appId}/jsapi-signature'],
];

let simulator: ChildHandle & { url: string };
let hub: Hub;
let sandboxHub: Hub;
let document: OpenApiDocument;
let documentText: string;

function hubEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    WECHAT_API_BASE_URL: simulator.url,
    WECHAT_ACCOUNTS: JSON.stringify(ACCOUNTS),
    ADMIN_API_KEYS: `${KEY},${SECOND_KEY}`,
    ...extra,
  };
}

/** Runs test/fixtures/list-routes.js with the production hub's configuration. */
async function listRoutes(extra: Record<string, string> = {}): Promise<RouterListing> {
  let line: string | undefined;
  const child = await spawnNode(resolve(repoRoot, 'test/fixtures/list-routes.js'), {
    name: `list-routes ${JSON.stringify(extra)}`,
    env: hubEnv(extra),
    timeoutMs: 30_000,
    readyWhen: (text) => {
      if (text.startsWith('ROUTES ')) line = text;
      return line !== undefined;
    },
  });
  expect((await child.exited).code).toBe(0);
  return JSON.parse((line as string).slice('ROUTES '.length)) as RouterListing;
}

/** Every `$ref` in `value`. */
function refsIn(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((item) => refsIn(item, found));
  else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === '$ref' && typeof item === 'string') found.push(item);
      else refsIn(item, found);
    }
  }
  return found;
}

function operations(doc: OpenApiDocument): [method: string, path: string, operation: Operation][] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, operation]): [string, string, Operation] => [method, path, operation]),
  );
}

/** What makes an OpenAPI 3.0 document unusable by tools (Swagger UI, generators), as a list of problems. */
function openApiProblems(doc: OpenApiDocument): string[] {
  const problems: string[] = [];
  if (!/^3\.\d+\.\d+$/.test(doc.openapi)) problems.push(`openapi is ${doc.openapi}`);
  if (!doc.info?.title || !doc.info.version) problems.push('info.title and info.version are required');
  const schemes = Object.keys(doc.components?.securitySchemes ?? {});
  const tags = new Set((doc.tags ?? []).map((t) => t.name));
  const ids = new Set<string>();
  for (const ref of refsIn(doc)) {
    const name = /^#\/components\/schemas\/(.+)$/.exec(ref)?.[1];
    if (!name || !doc.components.schemas[name]) problems.push(`unresolved $ref ${ref}`);
  }
  for (const [method, path, op] of operations(doc)) {
    const where = `${method.toUpperCase()} ${path}`;
    if (!path.startsWith('/')) problems.push(`${path} does not start with /`);
    if (!op.operationId || ids.has(op.operationId))
      problems.push(`${where}: missing or duplicate operationId`);
    ids.add(op.operationId ?? '');
    if (!op.summary) problems.push(`${where}: no summary`);
    if (!op.tags?.length || op.tags.some((t) => !tags.has(t)))
      problems.push(`${where}: undeclared tag ${op.tags}`);
    if (!Object.keys(op.responses ?? {}).length) problems.push(`${where}: no responses`);
    for (const [status, response] of Object.entries(op.responses ?? {})) {
      if (!/^[1-5]\d\d$|^default$/.test(status) || !response.description)
        problems.push(`${where}: response ${status} needs a status and a description`);
    }
    for (const parameter of op.parameters ?? []) {
      if (!['query', 'header', 'path', 'cookie'].includes(parameter.in))
        problems.push(`${where}: ${parameter.name} in ${parameter.in}`);
      if (!parameter.schema && !parameter.content) problems.push(`${where}: ${parameter.name} has no schema`);
    }
    for (const name of path.match(/\{[^}]+\}/g) ?? []) {
      const declared = op.parameters?.find((p) => p.in === 'path' && `{${p.name}}` === name);
      if (!declared?.required) problems.push(`${where}: path parameter ${name} is not declared as required`);
    }
    for (const requirement of op.security ?? []) {
      for (const scheme of Object.keys(requirement))
        if (!schemes.includes(scheme)) problems.push(`${where}: security ${scheme}`);
    }
  }
  return problems;
}

/** Fastify's `/a/:b/*` as the document spells it: `/a/{b}/{wechatPath}` (the wildcard is always a WeChat path). */
function documentPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/\*$/, '{wechatPath}');
}

/** A value of the schema's type, for filling required fields. */
function sample(schema: Schema | undefined): unknown {
  if (schema?.type === 'number' || schema?.type === 'integer') return 1;
  if (schema?.type === 'boolean') return true;
  return 'x';
}

/**
 * Validates the document with @seriousme/openapi-schema-validator (the OpenAPI 3.0 JSON schema, strict: no
 * Swagger-2 leftovers, no unknown keys). It is an ES module, which jest's CommonJS runtime cannot load: a node
 * child does it.
 */
async function validateOpenApi(text: string): Promise<{ valid: boolean; errors?: unknown }> {
  const script = [
    "import { Validator } from '@seriousme/openapi-schema-validator';",
    'let text = "";',
    'for await (const chunk of process.stdin) text += chunk;',
    'const result = await new Validator().validate(JSON.parse(text));',
    'console.log(JSON.stringify({ valid: result.valid, errors: result.errors }));',
  ].join('\n');
  const child = promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    cwd: repoRoot,
    maxBuffer: 16 << 20,
  });
  child.child.stdin!.end(text);
  return JSON.parse((await child).stdout) as { valid: boolean; errors?: unknown };
}

type SchemaNode = Schema & {
  nullable?: boolean;
  enum?: unknown[];
  items?: SchemaNode;
  allOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  anyOf?: SchemaNode[];
};

/**
 * Where a real answer departs from its documented schema, with OpenAPI 3.0's meaning of each keyword (`nullable`
 * needs a `type` beside it, `additionalProperties` is open unless given). An empty list: it matches.
 */
function schemaMismatches(value: unknown, schema: SchemaNode, at = '$'): string[] {
  if (schema.$ref) {
    const target = document.components.schemas[schema.$ref.replace('#/components/schemas/', '')];
    return target ? schemaMismatches(value, target as SchemaNode, at) : [`${at}: unresolved ${schema.$ref}`];
  }
  const problems: string[] = [];
  for (const part of schema.allOf ?? []) problems.push(...schemaMismatches(value, part, at));
  for (const [keyword, branches] of [
    ['oneOf', schema.oneOf],
    ['anyOf', schema.anyOf],
  ] as const) {
    if (!branches) continue;
    const matching = branches.filter((branch) => schemaMismatches(value, branch, at).length === 0).length;
    if (keyword === 'oneOf' ? matching !== 1 : matching === 0)
      problems.push(`${at}: ${JSON.stringify(value)} matches ${matching} branches of ${keyword}`);
  }
  if (value === null) {
    if (!(schema.type && schema.nullable) && schema.type) problems.push(`${at}: null where ${schema.type}`);
    if (schema.enum && !schema.enum.includes(null)) problems.push(`${at}: null not in enum`);
    return problems;
  }
  if (schema.enum && !schema.enum.includes(value))
    problems.push(`${at}: ${JSON.stringify(value)} not in enum`);
  const actual = Array.isArray(value) ? 'array' : typeof value;
  const expected = schema.type === 'integer' ? 'number' : schema.type;
  if (expected && actual !== expected) problems.push(`${at}: ${actual} where ${schema.type}`);
  if (Array.isArray(value) && schema.items)
    value.forEach((item, i) => problems.push(...schemaMismatches(item, schema.items!, `${at}[${i}]`)));
  if (actual === 'object' && !Array.isArray(value)) {
    const object = value as Record<string, unknown>;
    for (const name of schema.required ?? [])
      if (!(name in object)) problems.push(`${at}: missing required ${name}`);
    for (const [name, child] of Object.entries(object)) {
      const declared = schema.properties?.[name];
      const extra = schema.additionalProperties;
      if (declared) problems.push(...schemaMismatches(child, declared as SchemaNode, `${at}.${name}`));
      else if (extra === false) problems.push(`${at}: undocumented property ${name}`);
      else if (extra && typeof extra === 'object')
        problems.push(...schemaMismatches(child, extra as SchemaNode, `${at}.${name}`));
    }
  }
  return problems;
}

/** The documented JSON schema of one answer of an operation. */
function responseSchema(path: string, method: string, status: number): SchemaNode {
  const response = document.paths[path]?.[method]?.responses[String(status)];
  const schema = response?.content?.['application/json']?.schema as SchemaNode | undefined;
  if (!schema) throw new Error(`${method.toUpperCase()} ${path} documents no JSON answer for ${status}`);
  return schema;
}

beforeAll(async () => {
  simulator = await startSimulator({
    SANDBOX_APPS: JSON.stringify(ACCOUNTS.map(({ appId, appSecret }) => ({ appId, appSecret }))),
  });
  [hub, sandboxHub] = await Promise.all([
    startHub(hubEnv(), { name: 'hub-production' }),
    startHub({}, { name: 'hub-fresh-sandbox' }),
  ]);
  const response = await fetch(`${hub.url}/docs/json`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  documentText = await response.text();
  document = JSON.parse(documentText) as OpenApiDocument;
});

describe('the Swagger UI', () => {
  it.each([
    ['production', () => hub],
    ['sandbox (fresh start)', () => sandboxHub],
  ])('answers HTML at /docs with its assets and the document in %s mode', async (_, target) => {
    const { url } = target();
    const page = await fetch(`${url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('<div id="swagger-ui"></div>');
    expect(html).toContain('swagger-ui-init.js');
    // the UI's own files come from @fastify/static, its configuration (with the document) from swagger
    const bundle = await fetch(`${url}/docs/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    await bundle.arrayBuffer();
    const init = await (await fetch(`${url}/docs/swagger-ui-init.js`)).text();
    expect(init).toContain('"openapi": "3.');
    const json = (await (await fetch(`${url}/docs/json`)).json()) as OpenApiDocument;
    expect(json.paths['/api/v1/accounts/{appId}/token']).toBeDefined();
    const yaml = await fetch(`${url}/docs/yaml`);
    expect(yaml.status).toBe(200);
    expect(await yaml.text()).toContain('/api/v1/accounts/{appId}/token:');
  });

  it.each(['/docs', '/docs?x=1', '/docs/', '/docs/?x=1', '/docs/?url=/docs/json'])(
    'the page at %s loads every file it names (no blank page)',
    async (path) => {
      const page = await fetch(`${hub.url}${path}`);
      expect(page.status).toBe(200);
      const html = await page.text();
      const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      expect(assets).toEqual(expect.arrayContaining([expect.stringMatching(/swagger-ui-bundle\.js$/)]));
      // relative to the address the browser ends on, as a browser resolves them
      for (const asset of assets) {
        const response = await fetch(new URL(asset, page.url));
        expect({ asset: new URL(asset, page.url).pathname, status: response.status }).toEqual({
          asset: new URL(asset, page.url).pathname,
          status: 200,
        });
        await response.arrayBuffer();
      }
    },
  );

  it('the sandbox document is the production one: it holds nothing of the configuration', async () => {
    const sandboxText = await (await fetch(`${sandboxHub.url}/docs/json`)).text();
    expect(sandboxText).toBe(documentText);
    for (const value of [SANDBOX_ADMIN_KEY, SANDBOX_DEMO_ACCOUNT.appId, SANDBOX_DEMO_ACCOUNT.appSecret])
      expect(sandboxText).not.toContain(value);
  });
});

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3 document: versioned, every $ref resolves, every operation summarised, tagged and answered', () => {
    expect(document.openapi).toMatch(/^3\.0\./);
    expect(document.info.title).toBe('wxhub');
    const { version } = JSON.parse(readFileSync(resolve(repoRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(document.info.version).toBe(version);
    expect(openApiProblems(document)).toEqual([]);
    expect(operations(document).length).toBeGreaterThanOrEqual(20);
  });

  it('declares the admin API keys as a bearer scheme and the error JSON {statusCode, error, message}', () => {
    expect(document.components.securitySchemes['admin-key']).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
    expect(document.components.schemas.ErrorResponse).toMatchObject({
      type: 'object',
      properties: { statusCode: { type: 'number' }, error: { type: 'string' }, message: { type: 'string' } },
    });
    expect([...(document.components.schemas.ErrorResponse?.required ?? [])].sort()).toEqual([
      'error',
      'message',
      'statusCode',
    ]);
    expect(document.components.schemas.WechatError).toMatchObject({
      properties: { errcode: { type: 'number' }, errmsg: { type: 'string' } },
    });
  });

  it.each(ADMIN_ROUTES)(
    'documents %s %s with the bearer key, a response schema and the 401/403/429 error answers',
    (method, path) => {
      const operation = document.paths[path]?.[method];
      expect(operation).toBeDefined();
      const op = operation as Operation;
      expect(op.security).toEqual([{ 'admin-key': [] }]);
      expect(refsIn(op.responses['200'])).toHaveLength(1);
      for (const status of ['401', '403', '429']) {
        expect(op.responses[status]?.content?.['application/json']?.schema).toEqual({
          $ref: '#/components/schemas/ErrorResponse',
        });
      }
      if (path.includes('{appId}')) expect(op.responses['404']).toBeDefined();
    },
  );

  it('documents the WeChat-shaped compat routes, the gateway with GET/POST and its auth, health and metrics', () => {
    for (const [method, path] of [
      ['get', '/cgi-bin/token'],
      ['post', '/cgi-bin/stable_token'],
    ] as const) {
      const op = document.paths[path]?.[method] as Operation;
      expect(refsIn(op.responses['200']).sort()).toEqual([
        '#/components/schemas/WechatError',
        '#/components/schemas/WechatToken',
      ]);
      expect(op.security ?? []).toEqual([]);
    }
    expect(
      document.paths['/cgi-bin/stable_token']?.post?.requestBody?.content['application/json']?.schema,
    ).toEqual({
      $ref: '#/components/schemas/StableTokenRequest',
    });
    const gateway = document.paths['/gateway/{appId}/{wechatPath}'];
    for (const method of ['get', 'post']) {
      expect(gateway?.[method]?.security).toEqual([{ 'admin-key': [] }]);
      expect(gateway?.[method]?.description).toMatch(/40001/);
    }
    for (const path of ['/health', '/health/live', '/health/ready', '/metrics', '/cgi-bin/{wechatPath}'])
      expect(document.paths[path]?.get).toBeDefined();
    expect(document.paths['/wechat/{appId}']?.post?.summary).toMatch(/^WeChat only/);
  });

  it('holds no AppID, AppSecret, callback token, AES key or API key of the configured accounts', async () => {
    const served = [
      documentText,
      await (await fetch(`${hub.url}/docs/yaml`)).text(),
      await (await fetch(`${hub.url}/docs/swagger-ui-init.js`)).text(),
      await (await fetch(`${hub.url}/docs`)).text(),
    ];
    // the values are real: the hub serves those accounts with that key
    expect(
      (
        await fetch(`${hub.url}/api/v1/accounts/${ACCOUNTS[0]?.appId}/token`, {
          headers: { authorization: `Bearer ${KEY}` },
        })
      ).status,
    ).toBe(200);
    for (const text of served) for (const value of CONFIGURED) expect(text).not.toContain(value);
  });
});

describe('the document and real answers', () => {
  it('passes a strict OpenAPI 3.0 validator (@seriousme/openapi-schema-validator)', async () => {
    const result = await validateOpenApi(documentText);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('the main routes answer what their schemas document, null included', async () => {
    const [first] = ACCOUNTS;
    const auth = { authorization: `Bearer ${KEY}` };
    const cases: [method: string, docPath: string, url: string, init?: RequestInit][] = [
      ['get', '/health', '/health'],
      ['get', '/health/live', '/health/live'],
      ['get', '/health/ready', '/health/ready'],
      ['get', '/api/v1/accounts', '/api/v1/accounts'],
      ['get', '/api/v1/accounts/{appId}/token', `/api/v1/accounts/${first!.appId}/token`],
      ['get', '/api/v1/accounts/{appId}/tickets/{type}', `/api/v1/accounts/${first!.appId}/tickets/jsapi`],
      [
        'get',
        '/api/v1/accounts/{appId}/jsapi-signature',
        `/api/v1/accounts/${first!.appId}/jsapi-signature?url=${encodeURIComponent('https://example.com/page')}`,
      ],
      ['post', '/api/v1/accounts/reload', '/api/v1/accounts/reload', { method: 'POST' }],
      ['get', '/api/v1/audit', '/api/v1/audit'],
      ['get', '/api/v1/accounts/{appId}/token', '/api/v1/accounts/wxunknown000000000/token'],
      ['get', '/api/v1/accounts', '/api/v1/accounts', { headers: { authorization: 'Bearer wrong' } }],
    ];
    const checked: string[] = [];
    for (const [method, docPath, url, init] of cases) {
      const response = await fetch(`${hub.url}${url}`, { headers: auth, ...init });
      const body: unknown = await response.json();
      const problems = schemaMismatches(body, responseSchema(docPath, method, response.status));
      expect({ route: `${method} ${url} ${response.status}`, problems }).toEqual({
        route: `${method} ${url} ${response.status}`,
        problems: [],
      });
      checked.push(`${response.status}`);
    }
    // successes and errors were both checked
    expect(checked).toEqual(expect.arrayContaining(['200', '404', '401']));
    // an account without a failure answers lastError: null, which the documented schema must accept
    const accounts = (await (await fetch(`${hub.url}/api/v1/accounts`, { headers: auth })).json()) as {
      accounts: { lastError: unknown }[];
    };
    expect(accounts.accounts.some((a) => a.lastError === null)).toBe(true);
  });

  it('read routes describe their 429 as failed authentications only; the force route names the budget', () => {
    for (const [method, path] of ADMIN_ROUTES) {
      const description = document.paths[path]![method]!.responses['429']?.description ?? '';
      if (path.endsWith('/token/refresh')) expect(description).toMatch(/budget/i);
      else expect(description).not.toMatch(/budget/i);
    }
  });
});

describe('the document and the router', () => {
  let listing: RouterListing;

  beforeAll(async () => {
    listing = await listRoutes();
  });

  it('every route the service registers is documented (the docs pages aside)', () => {
    const undocumented: string[] = [];
    let apiRoutes = 0;
    for (const { method, url } of listing.routes) {
      if (url === '/docs' || url.startsWith('/docs/')) continue;
      const item = document.paths[documentPath(url)];
      const methods = Array.isArray(method) ? method : [method];
      // `ALL` (the gateway): WeChat's GET and POST are forwarded, the rest answered 405 as documented
      const required = methods.length > 3 ? ['GET', 'POST'] : methods.filter((m) => m !== 'HEAD');
      if (url.startsWith('/api/v1/')) apiRoutes += required.length;
      for (const m of required) if (!item?.[m.toLowerCase()]) undocumented.push(`${m} ${url}`);
    }
    expect(undocumented).toEqual([]);
    // the listing is the real router, not an empty one
    expect(apiRoutes).toBeGreaterThanOrEqual(ADMIN_ROUTES.length);
    expect(listing.routes.some((r) => r.url === '/gateway/:appId/*')).toBe(true);
  });

  it('every documented operation is a route the service serves (no stale entry)', () => {
    const served = new Set(
      listing.routes.flatMap(({ method, url }) =>
        (Array.isArray(method) ? method : [method]).map((m) => `${m.toLowerCase()} ${documentPath(url)}`),
      ),
    );
    const stale = operations(document)
      .map(([method, path]) => `${method} ${path}`)
      .filter((entry) => !served.has(entry));
    expect(stale).toEqual([]);
  });

  it('serving the docs adds routes only: DOCS_ENABLED=false removes them and leaves every other route and hook as is', async () => {
    const off = await listRoutes({ DOCS_ENABLED: 'false' });
    expect(off.routes.filter((r) => r.url.startsWith('/docs'))).toEqual([]);
    const others = (l: RouterListing): string[] =>
      l.routes
        .filter((r) => !r.url.startsWith('/docs'))
        .map((r) => JSON.stringify(r))
        .sort();
    expect(others(off)).toEqual(others(listing));
    // hooks on the root instance run for every route (token reads, callbacks): @fastify/static adds none
    expect(off.rootHooks).toEqual(listing.rootHooks);
    expect(
      listing.routes.filter((r) => r.url.startsWith('/docs')).every((r) => !('hooks' in r) || r.hooks === 0),
    ).toBe(true);
  });
});

describe('the request schemas match the validation', () => {
  const bodies = (): [string, string, Schema][] =>
    operations(document)
      .filter(([, path, op]) => path.startsWith('/api/v1/') && op.requestBody)
      .map(([method, path, op]): [string, string, Schema] => {
        const ref = op.requestBody?.content['application/json']?.schema?.$ref ?? '';
        return [
          method,
          path,
          document.components.schemas[ref.replace('#/components/schemas/', '')] as Schema,
        ];
      });

  it('admin request bodies are strict (additionalProperties: false), as the ValidationPipe is', () => {
    expect(bodies().length).toBeGreaterThan(0);
    for (const [, , schema] of bodies()) {
      expect(schema.additionalProperties).toBe(false);
      expect(schema.required?.length).toBeGreaterThan(0);
    }
  });

  it('a body missing a required field, or with an unknown one, is refused with 400 naming it', async () => {
    const appId = ACCOUNTS[0]?.appId as string;
    for (const [method, path, schema] of bodies()) {
      const url = `${hub.url}${path.replace('{appId}', appId)}`;
      const send = (body: unknown): Promise<Response> =>
        fetch(url, {
          method: method.toUpperCase(),
          headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const missing = await send({});
      expect(missing.status).toBe(400);
      const missingBody = (await missing.json()) as { statusCode: number; error: string; message: string };
      expect(missingBody).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      for (const field of schema.required ?? []) expect(missingBody.message).toContain(field);
      const complete = Object.fromEntries(
        (schema.required ?? []).map((f) => [f, sample(schema.properties?.[f])]),
      );
      const extra = await send({ ...complete, unexpectedField: 1 });
      expect(extra.status).toBe(400);
      expect(((await extra.json()) as { message: string }).message).toContain(
        'property unexpectedField should not exist',
      );
    }
  });
});

describe('in a runtime that cannot load @fastify/static (jest before Node 24.9: a host app testing itself)', () => {
  it('the app still boots and serves the document, without the Swagger UI', async () => {
    const saved = process.env;
    process.env = { ...hubEnv({ NODE_ENV: 'test', LOG_LEVEL: 'fatal' }), PATH: saved.PATH };
    try {
      const app = await createApp(AppModule);
      await app.listen(0, '127.0.0.1');
      try {
        const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
        const json = await fetch(`${url}/docs/json`);
        expect(json.status).toBe(200);
        expect(await json.text()).toBe(documentText);
        expect((await fetch(`${url}/docs`)).status).toBe(404);
      } finally {
        await app.close();
      }
    } finally {
      process.env = saved;
    }
  });
});
