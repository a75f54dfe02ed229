import { closeAfterEach } from '../../../test/support/close-after-each';
import { connectApiPlane, type ApiClientPlane } from '../../../test/support/api-plane';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { WechatSimulator } from '../../sandbox/wechat-simulator';
import { WechatApiError } from '../errors/wechat-api.error';
import { WechatTokenError } from '../errors/wechat-token.error';

const APP = 'wx0000000000media01';
const SECRET = 'mediasecret00000000000000000001';
const FIVE_MB = 5 * 1024 * 1024;
const CHUNK = 64 * 1024;

type Harness = ApiClientPlane;

const cleanups = closeAfterEach();
jest.setTimeout(60_000);

async function api(url: string): Promise<Harness> {
  const plane = await connectApiPlane(APP, SECRET, url);
  cleanups(() => plane.close());
  return plane;
}

async function inProcess(): Promise<Harness & { sim: WechatSimulator }> {
  const sim = new WechatSimulator({ apps: [{ appId: APP, appSecret: SECRET }] });
  const url = await sim.listen();
  cleanups(() => sim.close());
  return { sim, ...(await api(url)) };
}

/**
 * The simulator in a child process, so that what it buffers of an upload does not count in this process's
 * memory. It loads the TypeScript sources through a require hook (typescript's transpileModule).
 */
async function childSimulator(): Promise<string> {
  const script = `
    const ts = require('typescript');
    const fs = require('fs');
    require.extensions['.ts'] = (module, filename) => {
      const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
        fileName: filename,
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true,
          experimentalDecorators: true },
      });
      module._compile(outputText, filename);
    };
    const { WechatSimulator } = require(${JSON.stringify(resolve(__dirname, '../../sandbox/wechat-simulator.ts'))});
    const sim = new WechatSimulator({ apps: JSON.parse(process.env.SIM_APPS) });
    sim.listen().then((url) => process.stdout.write(JSON.stringify({ url }) + '\\n'));
    process.on('SIGTERM', () => sim.close().then(() => process.exit(0)));
  `;
  const child: ChildProcess = spawn(process.execPath, ['-e', script], {
    cwd: resolve(__dirname, '../../..'),
    env: { ...process.env, SIM_APPS: JSON.stringify([{ appId: APP, appSecret: SECRET }]) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cleanups(
    () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  );
  return new Promise((resolveUrl, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n')[0];
      if (output.includes('\n') && line) resolveUrl((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`child simulator exited with ${code}`)));
  });
}

function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Random chunks, generated lazily; `hash` sees every byte handed out. */
async function* randomStream(
  total: number,
  hash: ReturnType<typeof createHash>,
  onChunk?: (sent: number) => void,
) {
  for (let sent = 0; sent < total; sent += CHUNK) {
    onChunk?.(sent);
    const chunk = randomBytes(Math.min(CHUNK, total - sent));
    hash.update(chunk);
    yield chunk;
  }
}

describe('media: streamed upload and download', () => {
  it('uploads a 5 MB stream and downloads it back byte-identical', async () => {
    const { sim, client } = await inProcess();
    const original = randomBytes(FIVE_MB);
    const chunks = Array.from({ length: FIVE_MB / CHUNK }, (_, i) =>
      original.subarray(i * CHUNK, (i + 1) * CHUNK),
    );
    const uploaded = await client.media.upload(APP, 'image', {
      filename: 'big.jpg',
      contentType: 'image/jpeg',
      stream: Readable.from(chunks),
    });
    expect(uploaded).toMatchObject({ type: 'image', media_id: expect.stringMatching(/^[\w-]{64}$/) });
    expect(Math.abs(uploaded.created_at - Date.now() / 1000)).toBeLessThan(5);
    const [recorded] = sim.requests('/cgi-bin/media/upload');
    expect(recorded!.query).toMatchObject({ type: 'image' });
    expect((recorded!.body as { bytes: number; contentType: string }).bytes).toBeGreaterThan(FIVE_MB);
    expect((recorded!.body as { contentType: string }).contentType).toMatch(
      /^multipart\/form-data; boundary=/,
    );

    const downloaded = await client.media.get(APP, uploaded.media_id);
    expect(downloaded.kind).toBe('file');
    if (downloaded.kind !== 'file') return;
    expect(downloaded).toMatchObject({ contentType: 'image/jpeg', filename: 'big.jpg' });
    expect(downloaded.data.equals(original)).toBe(true);
  });

  it('keeps memory flat: a 5 MB generator upload and a streamed download never hold 2 MB of buffers', async () => {
    const url = await childSimulator();
    const { client } = await api(url);
    // warm-up: load and JIT the code paths first, so the baseline is not the cold process
    const warm = await client.media.upload(APP, 'image', {
      filename: 'warm.png',
      contentType: 'image/png',
      stream: randomStream(8 * CHUNK, createHash('sha256')),
    });
    const warmDownload = await client.media.getStream(APP, warm.media_id);
    if (warmDownload.kind === 'file') for await (const chunk of warmDownload.stream) void chunk;
    const gc = exposeGc();
    const sent = createHash('sha256');
    gc();
    const base = process.memoryUsage();
    let peakArrayBuffers = Number.NEGATIVE_INFINITY;
    let peakRss = Number.NEGATIVE_INFINITY;
    const sample = (): void => {
      gc();
      const now = process.memoryUsage();
      peakArrayBuffers = Math.max(peakArrayBuffers, now.arrayBuffers - base.arrayBuffers);
      peakRss = Math.max(peakRss, now.rss - base.rss);
    };
    const uploaded = await client.media.upload(APP, 'image', {
      filename: 'generated.png',
      contentType: 'image/png',
      size: FIVE_MB,
      stream: randomStream(FIVE_MB, sent, (offset) => {
        if (offset % (512 * 1024) === 0) sample();
      }),
    });
    const uploadPeak = peakArrayBuffers;

    const download = await client.media.getStream(APP, uploaded.media_id);
    expect(download.kind).toBe('file');
    if (download.kind !== 'file') return;
    expect(download.contentLength).toBe(FIVE_MB);
    const received = createHash('sha256');
    let bytes = 0;
    for await (const chunk of download.stream) {
      received.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
      if (bytes % (512 * 1024) < (chunk as Buffer).length) sample();
    }
    expect(bytes).toBe(FIVE_MB);
    expect(received.digest('hex')).toBe(sent.digest('hex'));
    console.log(
      `memory while moving 5 MB: upload peak arrayBuffers +${(uploadPeak / 1024).toFixed(0)} KiB, ` +
        `overall peak arrayBuffers +${(peakArrayBuffers / 1024).toFixed(0)} KiB, rss +${(peakRss / 1024).toFixed(0)} KiB`,
    );
    // Buffers live in arrayBuffers; a client holding the file would show over 4.5 MB here. RSS is only logged:
    // GC and heap growth move it by tens of MB whatever the data path does.
    expect(uploadPeak).toBeLessThan(2 * 1024 * 1024);
    expect(peakArrayBuffers).toBeLessThan(2 * 1024 * 1024);
  });

  it('sends Content-Length when size is given and fails with a RangeError when the stream disagrees', async () => {
    const { sim, client } = await inProcess();
    const hash = createHash('sha256');
    await expect(
      client.media.upload(APP, 'image', {
        filename: 'short.jpg',
        contentType: 'image/jpeg',
        size: 3 * CHUNK,
        stream: randomStream(2 * CHUNK, hash),
      }),
    ).rejects.toThrow(RangeError);
    expect(sim.requests('/cgi-bin/media/upload')).toHaveLength(0);
  });

  it('passes the caller stream error through', async () => {
    const { client } = await inProcess();
    async function* broken(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(CHUNK);
      throw new Error('disk read failed');
    }
    await expect(
      client.media.upload(APP, 'image', { filename: 'x.jpg', contentType: 'image/jpeg', stream: broken() }),
    ).rejects.toThrow('disk read failed');
  });

  it('on a token error a streamed upload repairs the token and throws tokenRepaired; the caller retry works', async () => {
    const { sim, client, tokens } = await inProcess();
    const dead = await tokens.getAccessToken(APP);
    sim.revoke(APP, dead);
    const callsBefore = sim.stats().byApp[APP]!.stableToken;
    const file = () => ({
      filename: 'a.jpg',
      contentType: 'image/jpeg',
      stream: Readable.from([Buffer.from('first bytes')]),
    });
    const error = await client.media.upload(APP, 'image', file()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WechatTokenError);
    expect(error).toMatchObject({
      errcode: 40001,
      attempts: 1,
      tokenRepaired: true,
      path: '/cgi-bin/media/upload',
    });
    expect(sim.stats().byApp[APP]!.stableToken - callsBefore).toBe(1);

    const retried = await client.media.upload(APP, 'image', file());
    expect(retried.media_id).toBeTruthy();
    expect(sim.stats().byApp[APP]!.stableToken - callsBefore).toBe(1);
    expect(sim.stats().calls['/cgi-bin/media/upload']).toBe(2);
  });

  it('resends bytes given as data after a token error by itself', async () => {
    const { sim, client, tokens } = await inProcess();
    sim.revoke(APP, await tokens.getAccessToken(APP));
    const uploaded = await client.media.upload(APP, 'voice', {
      filename: 'hello.mp3',
      contentType: 'audio/mpeg',
      data: Buffer.from('ID3 not really an mp3'),
    });
    expect(uploaded.type).toBe('voice');
    expect(sim.stats().calls['/cgi-bin/media/upload']).toBe(2);
    const back = await client.media.get(APP, uploaded.media_id);
    expect(back).toMatchObject({ kind: 'file', contentType: 'audio/mpeg' });
  });
});

describe('media: kinds, limits and errors', () => {
  it('returns a thumb id under media_id and a video as its URL', async () => {
    const { client } = await inProcess();
    const thumb = await client.media.upload(APP, 'thumb', {
      filename: 't.jpg',
      contentType: 'image/jpeg',
      data: randomBytes(1000),
    });
    expect(thumb).toMatchObject({ type: 'thumb', media_id: expect.any(String) });
    const video = await client.media.upload(APP, 'video', {
      filename: 'v.mp4',
      contentType: 'video/mp4',
      data: randomBytes(2000),
    });
    await expect(client.media.get(APP, video.media_id)).resolves.toEqual({
      kind: 'video',
      videoUrl: expect.stringMatching(/^http:\/\/.+\.mp4$/),
    });
  });

  it('throws the typed error when WeChat answers JSON instead of bytes', async () => {
    const { client } = await inProcess();
    for (const download of [client.media.get(APP, 'nope'), client.media.getStream(APP, 'nope')]) {
      const error = (await download.catch((e: unknown) => e)) as WechatApiError;
      expect(error).toBeInstanceOf(WechatApiError);
      expect(error).toMatchObject({ errcode: 40007, errmsg: 'invalid media_id', path: '/cgi-bin/media/get' });
    }
  });

  it('checks known sizes before calling WeChat; WeChat checks file types', async () => {
    const { sim, client } = await inProcess();
    await expect(
      client.media.upload(APP, 'thumb', {
        filename: 't.jpg',
        contentType: 'image/jpeg',
        data: Buffer.alloc(65 * 1024),
      }),
    ).rejects.toThrow(RangeError);
    await expect(
      client.media.uploadImage(APP, {
        filename: 'i.png',
        contentType: 'image/png',
        size: 2 * 1024 * 1024,
        stream: Readable.from([]),
      }),
    ).rejects.toThrow(RangeError);
    expect(sim.stats().calls['/cgi-bin/media/upload'] ?? 0).toBe(0);
    await expect(
      client.media.upload(APP, 'image', {
        filename: 'doc.pdf',
        contentType: 'application/pdf',
        data: Buffer.from('%PDF'),
      }),
    ).rejects.toMatchObject({ errcode: 40005 });
  });

  it('uploadImage resolves to the image URL', async () => {
    const { sim, client } = await inProcess();
    const url = await client.media.uploadImage(APP, {
      filename: 'i.png',
      contentType: 'image/png',
      data: randomBytes(500),
    });
    expect(url).toMatch(/^http:\/\/mmbiz\.qpic\.cn\//);
    expect(sim.requests('/cgi-bin/media/uploadimg')).toHaveLength(1);
  });
});

describe('material', () => {
  it('adds, reads, counts, lists and deletes permanent material', async () => {
    const { sim, client } = await inProcess();
    const image = randomBytes(4000);
    const added = await client.material.add(APP, 'image', {
      filename: 'p.png',
      contentType: 'image/png',
      data: image,
    });
    expect(added).toEqual({ media_id: expect.any(String), url: expect.stringMatching(/^http:\/\/mmbiz/) });
    const video = await client.material.add(
      APP,
      'video',
      { filename: 'v.mp4', contentType: 'video/mp4', stream: Readable.from([randomBytes(3000)]) },
      { title: '演示视频', introduction: '简介' },
    );
    expect(video.url).toBeUndefined();

    const content = await client.material.get(APP, added.media_id);
    expect(content.kind).toBe('file');
    if (content.kind === 'file') expect(content.data.equals(image)).toBe(true);
    expect(sim.requests('/cgi-bin/material/get_material')[0]!.body).toEqual({ media_id: added.media_id });
    await expect(client.material.get(APP, video.media_id)).resolves.toEqual({
      kind: 'video',
      title: '演示视频',
      description: '简介',
      down_url: expect.any(String),
    });

    await expect(client.material.count(APP)).resolves.toEqual({
      voice_count: 0,
      video_count: 1,
      image_count: 1,
      news_count: 0,
    });
    const page = await client.material.batchGet(APP, 'image', 0, 20);
    expect(page).toMatchObject({
      total_count: 1,
      item_count: 1,
      item: [{ media_id: added.media_id, name: 'p.png' }],
    });

    await client.material.delete(APP, added.media_id);
    await expect(client.material.get(APP, added.media_id)).rejects.toMatchObject({ errcode: 40007 });
    await expect(client.material.delete(APP, added.media_id)).rejects.toMatchObject({ errcode: 40007 });
  });

  it('refuses a video without description and a page size over 20 before calling WeChat', async () => {
    const { sim, client } = await inProcess();
    await expect(
      client.material.add(APP, 'video', {
        filename: 'v.mp4',
        contentType: 'video/mp4',
        data: Buffer.from('x'),
      }),
    ).rejects.toThrow(RangeError);
    expect(() => client.material.batchGet(APP, 'image', 0, 21)).toThrow(RangeError);
    expect(sim.stats().calls['/cgi-bin/material/add_material'] ?? 0).toBe(0);
  });
});
