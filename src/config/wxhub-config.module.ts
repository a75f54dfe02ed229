import { Global, Inject, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { loadWxhubConfig, type WxhubConfig } from './wxhub-config';

/** The validated WxhubConfig of the running service. */
export const WXHUB_CONFIG = Symbol('WXHUB_CONFIG');
export const InjectWxhubConfig = (): ParameterDecorator => Inject(WXHUB_CONFIG);

/** Reads `.env` and the environment once, validates everything, and provides the typed result. */
@Global()
@Module({
  imports: [ConfigModule.forRoot({ cache: true, load: [() => ({ wxhub: loadWxhubConfig(process.env) })] })],
  providers: [
    {
      provide: WXHUB_CONFIG,
      useFactory: (config: ConfigService) => config.getOrThrow<WxhubConfig>('wxhub'),
      inject: [ConfigService],
    },
  ],
  exports: [WXHUB_CONFIG],
})
export class WxhubConfigModule {}
