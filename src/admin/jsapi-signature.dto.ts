import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import type { JsapiSignature } from '../token/ticket.service';

/** What a page passes to `wx.config`. */
@ApiSchema({ name: 'JsapiSignature', description: 'The fields of `wx.config` for one page URL.' })
export class JsapiSignatureDto implements JsapiSignature {
  @ApiProperty({ example: 'wxAPPID' })
  appId!: string;

  @ApiProperty({ description: 'Unix seconds.', example: 1767261600 })
  timestamp!: number;

  @ApiProperty({ description: '16 random alphanumerics.', example: 'Wm3WZYTPz0wzccnW' })
  nonceStr!: string;

  @ApiProperty({
    description: 'SHA-1 (hex) of `jsapi_ticket=…&noncestr=…&timestamp=…&url=…`.',
    example: 'da39a3ee5e6b4b0d3255bfef95601890afd80709',
  })
  signature!: string;

  @ApiProperty({
    description: 'The URL that was signed (without its `#fragment`).',
    example: 'https://shop.example.com/item?id=7',
  })
  url!: string;
}
