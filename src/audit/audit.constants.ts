import { Inject } from '@nestjs/common';
import { AuditStore } from './audit-store';

export const InjectAuditStore = (): ParameterDecorator => Inject(AuditStore);
