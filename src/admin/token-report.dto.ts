import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';

/** Body of `POST /api/v1/accounts/:appId/token/invalid`. */
@ApiSchema({ name: 'InvalidTokenReport' })
export class InvalidTokenReportDto {
  /** The token that WeChat refused with 40001, 40014 or 42001. */
  @ApiProperty({
    description: 'The token WeChat refused with 40001, 40014 or 42001.',
    minLength: 1,
    maxLength: 2048,
    example: 'ACCESS_TOKEN',
  })
  @IsString()
  @Length(1, 2048)
  access_token!: string;
}
