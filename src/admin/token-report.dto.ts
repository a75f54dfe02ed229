import { IsString, Length } from 'class-validator';

export class InvalidTokenReportDto {
  /** The token that WeChat refused with 40001, 40014 or 42001. */
  @IsString()
  @Length(1, 2048)
  access_token!: string;
}
