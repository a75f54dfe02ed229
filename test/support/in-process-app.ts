import type { Type } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/create-app';
import type { RouteOnRequest } from '../../src/common/route-hooks';

export interface InProcessApp {
  app: NestFastifyApplication;
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** For each request the watched route hook saw since the last reset: whether it answered it itself. */
  answered: boolean[];
  close(): Promise<void>;
}

/**
 * An in-process app built by createApp from `env` (restored on close), listening on a free loopback port. With
 * `routeHook`, the decisions of that route-level onRequest hook (ROUTE_ON_REQUEST) are recorded: answered itself,
 * or passed on to the route's handler.
 */
export async function startInProcessApp(
  rootModule: Type<unknown>,
  env: Record<string, string>,
  routeHook?: Type<RouteOnRequest>,
): Promise<InProcessApp> {
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  Object.assign(process.env, env);
  const restore = (): void => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  const answered: boolean[] = [];
  let app: NestFastifyApplication;
  try {
    app = await createApp(rootModule);
    if (routeHook !== undefined) {
      const hook = app.get(routeHook, { strict: false });
      const original = hook.onRequest.bind(hook);
      jest.spyOn(hook, 'onRequest').mockImplementation((request, reply, done) => {
        let passedOn = false;
        original(request, reply, (error?: Error) => {
          passedOn = true;
          done(error);
        });
        answered.push(!passedOn);
      });
    }
    await app.listen({ port: 0, host: '127.0.0.1' });
  } catch (error) {
    restore();
    throw error;
  }
  return {
    app,
    base: `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`,
    answered,
    close: async () => {
      await app.close();
      restore();
    },
  };
}
