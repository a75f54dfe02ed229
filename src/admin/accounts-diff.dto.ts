import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import type { AccountsDiff } from '../accounts/account-diff';

/** Answer of `POST /api/v1/accounts/reload`: what the reload changed (AppIDs only, never a secret). */
@ApiSchema({ name: 'AccountsReloadResult' })
export class AccountsDiffDto implements AccountsDiff {
  @ApiProperty({ description: 'AppIDs added.', type: [String], example: [] })
  added!: string[];

  @ApiProperty({ description: 'AppIDs removed (their stored tokens are kept).', type: [String], example: [] })
  removed!: string[];

  @ApiProperty({
    description: 'AppIDs whose settings changed (secret, callback token, AES key, message mode or endpoint).',
    type: [String],
    example: [],
  })
  changed!: string[];

  @ApiProperty({ description: 'How many accounts stayed as they were.', example: 2 })
  unchanged!: number;
}
