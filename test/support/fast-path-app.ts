import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Type } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/create-app';

/** A handler answering some requests ahead of the framework (createApp's fast paths). */
interface FastPath {
  tryHandle(request: IncomingMessage, response: ServerResponse): boolean;
}

export interface FastPathApp {
  app: NestFastifyApplication;
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** For each request since the last reset: whether the fast path took it. */
  served: boolean[];
  close(): Promise<void>;
}

/**
 * An in-process app built by createApp from `env` (restored on close), listening on a free loopback port, with the
 * given fast path's decisions recorded: the specs that hold a fast path to the framework's answers use it.
 */
export async function startFastPathApp(
  rootModule: Type<unknown>,
  fastPath: Type<FastPath>,
  env: Record<string, string>,
): Promise<FastPathApp> {
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  Object.assign(process.env, env);
  const restore = (): void => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  let app: NestFastifyApplication;
  try {
    app = await createApp(rootModule);
    await app.listen({ port: 0, host: '127.0.0.1' });
  } catch (error) {
    restore();
    throw error;
  }
  const handler = app.get(fastPath, { strict: false });
  const original = handler.tryHandle.bind(handler);
  const served: boolean[] = [];
  jest.spyOn(handler, 'tryHandle').mockImplementation((request, response) => {
    const taken = original(request, response);
    served.push(taken);
    return taken;
  });
  return {
    app,
    base: `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`,
    served,
    close: async () => {
      await app.close();
      restore();
    },
  };
}
