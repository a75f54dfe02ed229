import { Global, Inject, Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { loadWxhubConfig, type WxhubConfig } from './wxhub-config';

/** The validated WxhubConfig of the running service. */
export const WXHUB_CONFIG = Symbol('WXHUB_CONFIG');
export const InjectWxhubConfig = (): ParameterDecorator => Inject(WXHUB_CONFIG);

/** A WxhubConfig loaded before the module graph was built (by createApp), handed on by {@link loadedConfigModule}. */
const LOADED_WXHUB_CONFIG = Symbol('LOADED_WXHUB_CONFIG');

/**
 * Provides the typed, validated configuration as WXHUB_CONFIG. When createApp has loaded it already (it needs it
 * before Nest starts: logging, trust proxy), that object is used; a host that imports AppModule without createApp
 * gets it read and validated here, once. ConfigModule reads `.env` into the environment first.
 */
@Global()
@Module({
  imports: [ConfigModule.forRoot()],
  providers: [
    {
      provide: WXHUB_CONFIG,
      useFactory: (loaded: WxhubConfig | undefined) => loaded ?? loadWxhubConfig(process.env),
      inject: [{ token: LOADED_WXHUB_CONFIG, optional: true }],
    },
  ],
  exports: [WXHUB_CONFIG],
})
export class WxhubConfigModule {}

@Module({})
class LoadedWxhubConfigModule {}

/** Hands a configuration loaded before Nest started to WxhubConfigModule, so it is not read and validated twice. */
export function loadedConfigModule(config: WxhubConfig): DynamicModule {
  return {
    module: LoadedWxhubConfigModule,
    global: true,
    providers: [{ provide: LOADED_WXHUB_CONFIG, useValue: config }],
    exports: [LOADED_WXHUB_CONFIG],
  };
}
