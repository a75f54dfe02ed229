import { Inject } from '@nestjs/common';

/** The resolved options of ApiModule (see `api-options.ts`). */
export const API_OPTIONS = Symbol('WXHUB_API_OPTIONS');
export const InjectApiOptions = (): ParameterDecorator => Inject(API_OPTIONS);
