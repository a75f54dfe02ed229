'use strict';
/**
 * The benchmark's peer: express 4 + node-webot `wechat` 2.1.0 answering the sandbox demo account's callback with
 * the same echo as wxhub's sandbox handler. The middleware checks `signature` (plaintext) or `msg_signature`
 * (encrypt_type=aes), decrypts, parses with xml2js, renders the reply with ejs and encrypts it when the push was
 * encrypted.
 *
 * Usage: PORT=4000 node bench/callback/peer-webot.js  (prints `listening <port>` once ready)
 */
const express = require('express');
const wechat = require('wechat');
const { DEMO } = require('./protocol');

const app = express();
app.disable('x-powered-by');
app.use(
  `/wechat/${DEMO.appId}`,
  wechat({ token: DEMO.token, appid: DEMO.appId, encodingAESKey: DEMO.encodingAESKey }, (req, res) => {
    res.reply('You said: ' + req.weixin.Content);
  }),
);

const server = app.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
