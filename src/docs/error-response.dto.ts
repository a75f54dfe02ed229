import { ApiProperty, ApiSchema } from '@nestjs/swagger';

/** The JSON every wxhub route (outside `/cgi-bin/*`) answers on an error: `{statusCode, error, message}`. */
@ApiSchema({ name: 'ErrorResponse', description: 'Error answer of every wxhub route outside /cgi-bin/*.' })
export class ErrorResponseDto {
  @ApiProperty({ description: 'The HTTP status, repeated.', example: 404 })
  statusCode!: number;

  @ApiProperty({ description: "The status' name.", example: 'Not Found' })
  error!: string;

  @ApiProperty({ description: 'What was wrong, for a human.', example: 'unknown account wxAPPID' })
  message!: string;
}

/** WeChat's own error shape, answered by the `/cgi-bin/*` drop-ins and pass-through (HTTP 200, as WeChat does). */
@ApiSchema({ name: 'WechatError', description: "WeChat's error answer: `errcode` ≠ 0 and `errmsg`." })
export class WechatErrorDto {
  @ApiProperty({ description: "WeChat's error code.", example: 40125 })
  errcode!: number;

  @ApiProperty({ description: "WeChat's message.", example: 'invalid appsecret' })
  errmsg!: string;
}
