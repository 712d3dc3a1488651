import { CommonEnv } from '@lib/service';
import { IsInt, IsString, Matches, Max, Min } from 'class-validator';

/** The order app's configuration; defaults work on a developer machine as is. */
export class OrderEnv extends CommonEnv {
  @IsInt() @Min(0) @Max(65535) ORDER_PORT: number = 3001;

  @IsString()
  @Matches(/^postgres(ql)?:\/\//, { message: 'ORDER_DATABASE_URL must be a postgres:// URL' })
  ORDER_DATABASE_URL: string = 'postgres://postgres@127.0.0.1:5432/orders';
}
