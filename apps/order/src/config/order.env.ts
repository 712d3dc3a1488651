import { CommonEnv } from '@lib/service';
import { IsInt, IsString, Matches, Max, Min } from 'class-validator';

/** The order app's configuration; defaults work on a developer machine as is. */
export class OrderEnv extends CommonEnv {
  @IsInt() @Min(0) @Max(65535) ORDER_PORT: number = 3001;

  @IsString()
  @Matches(/^postgres(ql)?:\/\//, { message: 'ORDER_DATABASE_URL must be a postgres:// URL' })
  ORDER_DATABASE_URL: string = 'postgres://order_app:order_app@127.0.0.1:5432/orders';

  /**
   * The role that owns the schema and runs the migrations. Empty: the owner
   * role's default URL while ORDER_DATABASE_URL is the default, else
   * ORDER_DATABASE_URL itself (one URL for both).
   */
  @Matches(/^(postgres(ql)?:\/\/\S+)?$/, { message: 'ORDER_MIGRATION_DATABASE_URL must be empty or a postgres:// URL' })
  ORDER_MIGRATION_DATABASE_URL: string = '';
}
