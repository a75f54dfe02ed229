import { Module, type DynamicModule, type FactoryProvider, type ModuleMetadata } from '@nestjs/common';

/** What `forRootAsync` of a wxhub module accepts. */
export interface AsyncModuleOptions<T> extends Pick<ModuleMetadata, 'imports'> {
  useFactory: (...args: never[]) => T | Promise<T>;
  inject?: FactoryProvider['inject'];
  isGlobal?: boolean;
}

@Module({})
class OptionsHostModule {}

/**
 * A small module that provides a module's options under `token`, so that the module itself and the Redis
 * connection it imports can both read them.
 */
export function optionsModule<T>(
  token: symbol,
  options: { useValue: T } | AsyncModuleOptions<T>,
): DynamicModule {
  const provider =
    'useValue' in options
      ? { provide: token, useValue: options.useValue }
      : { provide: token, useFactory: options.useFactory, inject: options.inject ?? [] };
  return {
    module: OptionsHostModule,
    imports: 'useValue' in options ? [] : (options.imports ?? []),
    providers: [provider],
    exports: [token],
  };
}
