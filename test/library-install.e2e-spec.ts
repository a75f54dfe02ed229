import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { WechatSimulator } from '../src/sandbox/wechat-simulator';

const run = promisify(execFile);
const repoRoot = resolve(__dirname, '..');
const APP_ID = 'wxpackedhost000001';
const SECRET = 'packedhostsecret000000000000001';

/**
 * The environment of the npm and node children: none of the `npm_*` variables that `npm test` sets (they
 * would point the scratch install at this repository), and npm's own cache, so installs reuse what it holds.
 */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}

async function npm(args: string[], cwd: string): Promise<string> {
  const { stdout } = await run('npm', args, { cwd, env: childEnv(), maxBuffer: 64 << 20, timeout: 300_000 });
  return stdout;
}

/** A scratch host app: its package.json (the packed tarball and nothing else of wxhub's) and one script. */
async function host(
  dir: string,
  tarball: string,
  dependencies: Record<string, string>,
  script: string,
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const manifest = {
    name: 'host',
    private: true,
    dependencies: { wxhub: `file:${tarball}`, ...dependencies },
  };
  await writeFile(join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  await writeFile(join(dir, 'host.js'), script);
  // a plain install, as a user would run it: no --legacy-peer-deps, no overrides in the host
  await npm(['install', '--prefer-offline', '--no-audit', '--no-fund'], dir);
  return dir;
}

/** Every copy of `@nestjs/<name>` under a host's node_modules, nested ones included. */
async function copiesOf(dir: string, name: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (nodeModules: string): Promise<void> => {
    const entries = await readdir(nodeModules, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const path = join(nodeModules, entry.name);
      if (entry.name.startsWith('@')) {
        for (const scoped of await readdir(path, { withFileTypes: true })) {
          if (!scoped.isDirectory()) continue;
          if (`${entry.name}/${scoped.name}` === `@nestjs/${name}`) found.push(join(path, scoped.name));
          await walk(join(path, scoped.name, 'node_modules'));
        }
      } else {
        await walk(join(path, 'node_modules'));
      }
    }
  };
  await walk(join(dir, 'node_modules'));
  return found;
}

const BOOT_APP_MODULE = `
const { AppModule, createApp } = require('wxhub');
(async () => {
  const app = await createApp(AppModule);
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const health = await fetch(url + '/health');
  const token = await fetch(url + '/cgi-bin/token?grant_type=client_credential&appid=${APP_ID}&secret=${SECRET}');
  const body = await token.json();
  await app.close();
  console.log(JSON.stringify({ health: health.status, token: body.access_token }));
})().catch((error) => { console.error(error); process.exit(1); });
`;

// plain JavaScript, so decorators are applied as functions
const INJECT_TOKEN_SERVICE = `
require('reflect-metadata');
const { Inject, Injectable, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { TokenModule, TokenService } = require('wxhub');

class MenuPublisher {
  constructor(tokens) { this.tokens = tokens; }
  token() { return this.tokens.getAccessToken('${APP_ID}'); }
}
Inject(TokenService)(MenuPublisher, undefined, 0);
Injectable()(MenuPublisher);

class HostModule {}
Module({
  imports: [TokenModule.forRoot({
    accounts: [{ appId: '${APP_ID}', appSecret: '${SECRET}', messageMode: 'plain', tokenEndpoint: 'stable' }],
    apiBaseUrl: process.env.SIMULATOR_URL,
  })],
  providers: [MenuPublisher],
})(HostModule);

(async () => {
  const app = await NestFactory.createApplicationContext(HostModule, { logger: ['error'] });
  const token = await app.get(MenuPublisher).token();
  await app.close();
  console.log(JSON.stringify({ token }));
})().catch((error) => { console.error(error); process.exit(1); });
`;

describe('the packed library in a host app', () => {
  let work: string;
  let tarball: string;
  let sim: WechatSimulator;
  let simUrl: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'wxhub-pack-'));
    sim = new WechatSimulator({ apps: [{ appId: APP_ID, appSecret: SECRET }] });
    simUrl = await sim.listen();
    // dist/ is built by the e2e global setup; the prepare script (which builds) is what git installs run
    const packed = JSON.parse(
      await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], repoRoot),
    ) as { filename: string; files: { path: string }[] }[];
    tarball = join(work, packed[0]!.filename);
    contents = packed[0]!.files.map((f) => f.path);
    // both hosts install at once: most of the time is npm resolving, not the machine
    [bootHost, injectHost] = await Promise.all([
      host(join(work, 'boot'), tarball, {}, BOOT_APP_MODULE),
      host(
        join(work, 'inject'),
        tarball,
        {
          '@nestjs/common': '^11.1.0',
          '@nestjs/core': '^11.1.0',
          'reflect-metadata': '^0.2.2',
          rxjs: '^7.8.1',
        },
        INJECT_TOKEN_SERVICE,
      ),
    ]);
  }, 300_000);

  let contents: string[] = [];
  let bootHost: string;
  let injectHost: string;

  afterAll(async () => {
    await sim.close();
    await rm(work, { recursive: true, force: true });
  });

  it('the tarball holds the compiled library, its types, the licence and the changelog, and no sources, tests or real configuration', () => {
    expect(contents).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'LICENSE',
        'CHANGELOG.md',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/main.js',
        'dist/sandbox/main.js',
        'dist/sandbox/push.js',
        'config/accounts.example.yaml',
      ]),
    );
    const unexpected = contents.filter(
      (path) =>
        !/^(package\.json|README\.md|LICENSE|CHANGELOG\.md|config\/[^/]+\.example\.[a-z]+|dist\/.+\.(js|d\.ts|js\.map))$/.test(
          path,
        ) || /\.spec\./.test(path),
    );
    expect(unexpected).toEqual([]);
  });

  /** One copy of each Nest package in the host's tree, and npm agrees: no missing or invalid (peer) dependency. */
  async function expectOneNest(dir: string): Promise<void> {
    expect(await copiesOf(dir, 'core')).toHaveLength(1);
    expect(await copiesOf(dir, 'common')).toHaveLength(1);
    await npm(['ls', '--all'], dir);
  }

  /** Runs the host's `host.js` with `env`; its last output line, as JSON. */
  async function runHost<T>(dir: string, env: Record<string, string>): Promise<T> {
    const { stdout } = await run(process.execPath, ['host.js'], {
      cwd: dir,
      timeout: 60_000,
      env: childEnv(env),
    });
    return JSON.parse(stdout.trim().split('\n').pop()!) as T;
  }

  it('a host with a plain `npm install` of the tarball holds one Nest and boots createApp(AppModule)', async () => {
    await expectOneNest(bootHost);
    const result = await runHost<{ health: number; token: string }>(bootHost, {
      NODE_ENV: 'test',
      WECHAT_SANDBOX: 'false',
      WECHAT_ACCOUNTS: JSON.stringify([{ appId: APP_ID, appSecret: SECRET }]),
      WECHAT_API_BASE_URL: simUrl,
      LOG_LEVEL: 'error',
    });
    expect(result.health).toBe(200);
    expect(sim.checkToken(APP_ID, result.token)).toBe('valid');
  });

  it('a Nest host that has its own @nestjs/common and @nestjs/core imports TokenModule into its module and injects TokenService', async () => {
    await expectOneNest(injectHost);
    const { token } = await runHost<{ token: string }>(injectHost, { SIMULATOR_URL: simUrl });
    expect(sim.checkToken(APP_ID, token)).toBe('valid');
  });
});
