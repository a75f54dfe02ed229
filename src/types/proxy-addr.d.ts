// proxy-addr 2 ships no types: the two functions wxhub uses (the same module Fastify uses for `request.ip`)
declare module 'proxy-addr' {
  import type { IncomingMessage } from 'node:http';
  type Trust = (address: string, hop: number) => boolean;
  function proxyAddr(request: IncomingMessage, trust: Trust | string | string[]): string;
  namespace proxyAddr {
    function compile(values: string | string[]): Trust;
  }
  export = proxyAddr;
}
