import { parseArgs } from 'node:util';
import {
  openJsonReply,
  openReply,
  pushJson,
  pushXml,
  signJsonPush,
  signPush,
  type JsonPushTarget,
} from './push-builder';
import { SANDBOX_DEMO_ACCOUNT, SANDBOX_DEMO_MINI_PROGRAM } from './sandbox.constants';

const USAGE = `Pushes a signed (optionally encrypted) WeChat message to a hub and prints the reply.

  npm run sandbox:push -- [--url http://127.0.0.1:$PORT] [--app <appId>] (--text "hello" | --event subscribe [--event-key k])
                          [--encrypt [--compatible]] [--json] [--token <callback token>] [--aes-key <EncodingAESKey>]
                          [--from <openid>]

--json pushes the message as JSON, as WeChat does for a Mini Program set to data format JSON (safe mode with
--encrypt; --compatible puts the plaintext fields next to Encrypt).

The hub is --url, else http://127.0.0.1:$PORT (PORT as the hub reads it), else port 3000.
Without --app, --token and --aes-key, the sandbox demo account is used. With --app ${SANDBOX_DEMO_MINI_PROGRAM.appId}
(the sandbox demo Mini Program, safe mode, JSON) its token and key are used and --json --encrypt are implied.`;

const defaultUrl = `http://127.0.0.1:${process.env.PORT ?? 3000}`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', default: defaultUrl },
      app: { type: 'string', default: SANDBOX_DEMO_ACCOUNT.appId },
      text: { type: 'string' },
      event: { type: 'string' },
      'event-key': { type: 'string' },
      encrypt: { type: 'boolean', default: false },
      compatible: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      token: { type: 'string' },
      'aes-key': { type: 'string' },
      from: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || (!values.text && !values.event)) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const demo = [SANDBOX_DEMO_ACCOUNT, SANDBOX_DEMO_MINI_PROGRAM].find((a) => a.appId === values.app);
  const demoMiniProgram = demo === SANDBOX_DEMO_MINI_PROGRAM;
  const json = values.json || demoMiniProgram;
  const target: JsonPushTarget = {
    appId: values.app,
    token: values.token ?? demo?.token ?? '',
    encodingAESKey: values['aes-key'] ?? demo?.encodingAESKey,
    encrypt: values.encrypt || demoMiniProgram,
    compatible: values.compatible,
  };
  if (!target.token) {
    process.stderr.write(
      '--token (the account callback token) is required for an account other than the demo one\n',
    );
    return 2;
  }
  const message = {
    text: values.text,
    event: values.event,
    eventKey: values['event-key'],
    fromUser: values.from,
  };
  const plaintext = json ? pushJson(message) : pushXml(message);
  const push = json ? signJsonPush(target, plaintext) : signPush(target, plaintext);
  const url = `${values.url.replace(/\/+$/, '')}/wechat/${values.app}?${new URLSearchParams(push.query).toString()}`;
  // the target is always printed: a default port silently hitting another service (or nothing) misleads
  process.stdout.write(`> POST ${url.split('?')[0]}\n`);
  process.stdout.write(`> ${target.encrypt ? 'encrypted ' : ''}${plaintext}\n`);
  const started = Date.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': json ? 'application/json' : 'text/xml' },
    body: push.body,
  }).catch((error: Error & { cause?: { code?: string } }) => {
    const hint = values.url === defaultUrl ? " (set PORT to the hub's port, or pass --url)" : '';
    throw new Error(`no hub answers at ${values.url}${hint}: ${error.cause?.code ?? error.message}`);
  });
  const body = await response.text();
  process.stdout.write(`< HTTP ${response.status} in ${Date.now() - started} ms\n`);
  const opened = json ? openJsonReply(target, body) : openReply(target, body);
  process.stdout.write(`< ${response.ok ? opened : body}\n`);
  return response.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`push failed: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
