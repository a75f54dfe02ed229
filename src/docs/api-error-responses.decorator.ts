import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from './error-response.dto';

/** The error answers wxhub gives, with what each means on its routes. */
export const ERROR_DESCRIPTIONS = {
  400: 'Malformed input (the message names the field and the reason); nothing was changed.',
  401: 'Missing or wrong `Authorization: Bearer <key>` (one of ADMIN_API_KEYS).',
  403: 'The caller address is not in ADMIN_ALLOWED_IPS.',
  404: 'Unknown account (appId) or path.',
  413: 'Body too large.',
  429: 'Too many failed authentications from this address; wait a minute.',
  503: 'No live token can be obtained right now (WeChat or the store fails); see `Retry-After`.',
} as const;

export type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;

/** Status codes every admin route (`/api/v1/*`) may answer before its handler runs (the API-key guard). */
export const ADMIN_AUTH_ERRORS: readonly ErrorStatus[] = [401, 403, 429];

/**
 * Documents error answers in the `{statusCode, error, message}` shape. `overrides` replaces the generic
 * description of a status where a route gives it a more specific meaning.
 */
export function ApiErrorResponses(
  statuses: readonly ErrorStatus[],
  overrides: Partial<Record<ErrorStatus, string>> = {},
): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: overrides[status] ?? ERROR_DESCRIPTIONS[status],
        type: ErrorResponseDto,
      }),
    ),
  );
}
