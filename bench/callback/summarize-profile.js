'use strict';
/**
 * Summarizes a .cpuprofile of a callback server: where its busy time goes by area of work (wxhub or the peer is
 * recognized from the frames), then the hottest functions by self time and self time per package.
 *
 *   node bench/callback/summarize-profile.js bench/callback/profiles/wxhub-plain.cpuprofile [top=20]
 */
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../..');

/**
 * Areas of work, first match wins. `stack: true` matches a frame anywhere on the stack (the time spent under that
 * call), otherwise only the sampled (innermost) frame. Patterns match `functionName@url`.
 */
const WXHUB_AREAS = [
  ['kernel send (writev syscall, shared by both servers)', /^writev@$/],
  ['garbage collection', /garbage collector/],
  ['AsyncResource.bind per body (Fastify content-type parser; Node 20 builds DEP0172 deprecate() wrappers each call)', /^bind@node:async_hooks/, true],
  ['async_hooks promise hooks (switched on by AsyncLocalStorage in wechat-context)', /promiseInitHook|emitInitScript|_propagate|executionAsyncResource|emit(Before|After|Destroy)Script/, true],
  ['XML parsing: parseWechatXml (fast-xml-parser validate + parse + copy)', /^parseWechatXml@/, true],
  ['signature checks (SHA-1, timingSafeEqual)', /^checkSignature@|^signatureMatches@/, true],
  ['AES decrypt', /^decryptFor@/, true],
  ['encrypted reply (AES + SHA-1 + envelope)', /^encryptedReply@/, true],
  ['reply XML rendering', /^renderReplyXml@/, true],
  ['de-duplication (store, SHA-1 of the key, randomUUID)', /dedupe|^dedupeId@/, true],
  ['per-push timers (watchdog setInterval, budget setTimeout)', /^(set|clear)(Interval|Timeout)@node:timers/, true],
  ['Nest pipes and parameter resolution (global ValidationPipe)', /pipes-consumer|validation\.pipe|^pipesFn@|^resolveParamValue@|^getParamValue@/, true],
  ['wxhub, other own code', /\/dist\//],
  ['Nest, other', /@nestjs/],
  ['Fastify, find-my-way, middie', /fastify|find-my-way|middie|fast-querystring|toad-cache/],
  ['Node core (http, net, streams)', /@node:/],
  ['other (V8, native, program)', /./],
];

const PEER_AREAS = [
  ['kernel send (writev syscall, shared by both servers)', /^writev@$/],
  ['garbage collection', /garbage collector/],
  ['AES decrypt', /decrypt@.*wechat-crypto/, true],
  ['encrypted reply', /encrypt@.*wechat-crypto|^encryptXml@/, true],
  ['signature checks', /getSignature@|checkSignature@/, true],
  ['reply rendering (ejs)', /ejs/, true],
  ['XML parsing (xml2js + sax, self time)', /xml2js|sax/],
  ['express, qs', /express|\/qs\/|body-parser|finalhandler|parseurl/],
  ['wechat middleware, other', /wechat/],
  ['Node core (http, net, streams)', /@node:/],
  ['other (V8, native, program)', /./],
];

function area(url) {
  if (!url) return '(native/V8)';
  const file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const rest = file.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (file.startsWith('node:')) return 'node core';
  const rel = path.relative(ROOT, file);
  if (rel.startsWith('dist/')) return `wxhub ${path.dirname(rel.slice(5))}`;
  return rel.startsWith('..') ? file : rel;
}

function summarizeProfile(file, top = 20) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
  const isHub = profile.nodes.some((n) => n.callFrame.url.includes('/dist/wechat-callback/'));
  const areas = isHub ? WXHUB_AREAS : PEER_AREAS;

  let total = 0;
  let busy = 0;
  const byArea = new Map(areas.map(([name]) => [name, 0]));
  const fnSelf = new Map();
  const pkgSelf = new Map();
  for (const [id, t] of self) {
    total += t;
    const frame = byId.get(id).callFrame;
    if (frame.functionName === '(idle)') continue;
    busy += t;
    const stack = [];
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur).callFrame;
      stack.push(`${f.functionName}@${f.url}`);
    }
    const hit = areas.find(([, re, anywhere]) => (anywhere ? stack.some((s) => re.test(s)) : re.test(stack[0])));
    byArea.set(hit[0], byArea.get(hit[0]) + t);
    const where = area(frame.url);
    const key = `${frame.functionName || '(anonymous)'} ${where}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    fnSelf.set(key, (fnSelf.get(key) ?? 0) + t);
    pkgSelf.set(where, (pkgSelf.get(where) ?? 0) + t);
  }
  const pct = (t) => `${((100 * t) / busy).toFixed(1).padStart(5)}%`;
  const out = [`${isHub ? 'wxhub' : 'peer'}: profiled ${(total / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s`];
  out.push('where the busy time goes (% of busy):');
  for (const [name, t] of byArea) if (t > 0) out.push(`  ${pct(t)}  ${name}`);
  out.push(`top ${top} functions by self time:`);
  for (const [k, t] of [...fnSelf].sort((a, b) => b[1] - a[1]).slice(0, top)) out.push(`  ${pct(t)}  ${k}`);
  out.push('self time by package:');
  for (const [k, t] of [...pkgSelf].sort((a, b) => b[1] - a[1]).slice(0, 12)) out.push(`  ${pct(t)}  ${k}`);
  return out.join('\n');
}

module.exports = { summarizeProfile };

if (require.main === module) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node bench/callback/summarize-profile.js <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  process.stdout.write(summarizeProfile(file, Number(top) || 20) + '\n');
}
