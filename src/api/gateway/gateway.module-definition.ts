import { ConfigurableModuleBuilder } from '@nestjs/common';
import { GATEWAY_MODULE_OPTIONS } from './gateway.constants';
import type { GatewayModuleOptions } from './gateway-options';

export const { ConfigurableModuleClass, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<GatewayModuleOptions>({ optionsInjectionToken: GATEWAY_MODULE_OPTIONS })
    .setClassMethodName('forRoot')
    .build();
