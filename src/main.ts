import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { AppModule } from './app.module';
import { ConfigError } from './config/config-error';
import { WXHUB_CONFIG } from './config/wxhub-config.module';
import type { WxhubConfig } from './config/wxhub-config';
import { createApp } from './create-app';
import { SandboxRuntime } from './sandbox/sandbox.module';
import {
  SANDBOX_ADMIN_KEY,
  SANDBOX_DEMO_ACCOUNT,
  SANDBOX_DEMO_MINI_PROGRAM,
} from './sandbox/sandbox.constants';

async function bootstrap(): Promise<void> {
  const app = await createApp(AppModule);
  const config = app.get<WxhubConfig>(WXHUB_CONFIG);
  await app.listen(config.port, config.host);
  const url = `http://127.0.0.1:${config.port}`;
  const logger = new Logger('wxhub');
  logger.log(`listening on ${config.host}:${config.port} with ${config.accounts.length} account(s)`);
  if (config.sandbox.enabled) {
    const { appId, appSecret } = SANDBOX_DEMO_ACCOUNT;
    const miniProgram = SANDBOX_DEMO_MINI_PROGRAM.appId;
    const simulator = app.get(SandboxRuntime).baseUrl ?? '<simulator>';
    const key = config.admin.apiKeys[0] === SANDBOX_ADMIN_KEY ? SANDBOX_ADMIN_KEY : '<one of ADMIN_API_KEYS>';
    process.stdout.write(
      [
        '',
        `wxhub is running in sandbox mode: a built-in WeChat simulator, a demo account (${appId}) and a demo Mini Program (${miniProgram}). Try:`,
        `  curl ${url}/health`,
        `  curl -H 'Authorization: Bearer ${key}' ${url}/api/v1/accounts`,
        `  curl -H 'Authorization: Bearer ${key}' ${url}/api/v1/accounts/${appId}/token`,
        `  curl '${url}/cgi-bin/token?grant_type=client_credential&appid=${appId}&secret=${appSecret}'`,
        `  curl -H 'Authorization: Bearer ${key}' ${url}/gateway/${appId}/cgi-bin/menu/get     # WeChat's API, token added`,
        `  curl ${url}/metrics`,
        `  curl -X POST -H 'content-type: application/json' -d '{"appid":"${miniProgram}"}' ${simulator}/sandbox/wxa/login-code     # a code, as wx.login() gives one`,
        `  curl -X POST -H 'Authorization: Bearer ${key}' -H 'content-type: application/json' -d '{"js_code":"<code>"}' ${url}/api/v1/accounts/${miniProgram}/code2session`,
        `  PORT=${config.port} npm run sandbox:push -- --text "hello"     # a signed message to /wechat/${appId}`,
        `  open ${url}/docs for the API reference (OpenAPI at ${url}/docs/json)`,
        'Set WECHAT_ACCOUNTS (and REDIS_URL for several instances) to serve real accounts.',
        '',
      ].join('\n') + '\n',
    );
  }
}

bootstrap().catch((error: unknown) => {
  if (process.env.NODE_ENV === 'production') {
    // one JSON line, like every other line a production hub writes (the logger may not exist yet)
    const fields =
      error instanceof ConfigError
        ? { problems: error.problems }
        : { err: { message: (error as Error)?.message ?? String(error), stack: (error as Error)?.stack } };
    const message =
      error instanceof ConfigError ? 'wxhub cannot start: invalid configuration' : 'wxhub cannot start';
    process.stderr.write(
      `${JSON.stringify({ level: 60, time: new Date().toISOString(), pid: process.pid, ...fields, msg: message })}\n`,
    );
  } else if (error instanceof ConfigError) {
    process.stderr.write(`wxhub cannot start. ${error.message}\n`);
  } else {
    process.stderr.write(`wxhub cannot start: ${(error as Error)?.stack ?? String(error)}\n`);
  }
  process.exit(1);
});
