import { applyDecorators, INestApplication } from '@nestjs/common';
import { ApiProperty, ApiResponse, DocumentBuilder, getSchemaPath, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

/**
 * The body of every error answer (Nest's HttpException shape, as the
 * exception filter and the validation pipe send it): validation lists every
 * problem in `message`, other errors give one sentence.
 */
export class ErrorResponse {
  @ApiProperty({ example: 400 })
  statusCode: number;

  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    description: 'what is wrong: one sentence, or (invalid input) one line per problem with its path',
    example: ['items.0.quantity must not be greater than 1000'],
  })
  message: string | string[];

  @ApiProperty({ required: false, example: 'Bad Request', description: "the status's reason phrase (absent when the request body could not be read)" })
  error?: string;
}

const REASONS: Record<number, string> = {
  400: 'invalid input: the message says what',
  401: 'the token is missing or wrong',
  404: 'not found',
  409: 'conflicts with what is there',
  503: 'a dependency is unavailable; retry later',
};

/** Error answers of an operation, each with the {@link ErrorResponse} body: `ApiErrors([400], [404, 'no order with that id'])`. */
export function ApiErrors(...errors: (number | [number, string])[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...errors.map((error) => {
      const [status, description] = typeof error === 'number' ? [error, REASONS[error] ?? 'error'] : error;
      return ApiResponse({ status, description, type: ErrorResponse });
    }),
  );
}

/** The request and response header every answer of an app carries (correlationMiddleware). */
export const CORRELATION_HEADER = 'X-Correlation-Id';

/**
 * Adds to every operation of an app's document what holds for all of them,
 * so that no controller can forget it: the `X-Correlation-Id` request
 * header and its echo on every response, `500` (a bug: no details), and
 * `503` with `Retry-After` where the database is used (the exception
 * filter's answer while it is away).
 */
export function describeCommonHttp(
  document: OpenAPIObject,
  options: { correlationId: boolean; databaseUnavailable: (path: string) => boolean },
): OpenAPIObject {
  const errorRef = { $ref: getSchemaPath(ErrorResponse) };
  for (const [path, item] of Object.entries(document.paths)) {
    for (const operation of [item.get, item.put, item.post, item.delete, item.patch]) {
      if (!operation) continue;
      const responses = operation.responses;
      responses['500'] ??= {
        description: 'a server error (logged with the correlation id; no details here)',
        content: { 'application/json': { schema: errorRef } },
      };
      if (options.databaseUnavailable(path)) {
        responses['503'] ??= {
          description: 'the database is unavailable; retry after the given seconds (with the same Idempotency-Key)',
          headers: { 'Retry-After': { description: 'seconds to wait', required: true, schema: { type: 'integer', example: 5 } } },
          content: { 'application/json': { schema: errorRef } },
        };
      }
      if (!options.correlationId) continue;
      operation.parameters = [
        ...(operation.parameters ?? []),
        {
          name: CORRELATION_HEADER,
          in: 'header',
          required: false,
          description:
            'ties the request, its log lines and the events it causes together; echoed in the response (a fresh UUID when absent or not 1..128 of [A-Za-z0-9_.:-])',
          schema: { type: 'string', pattern: '^[\\w.:-]{1,128}$', example: 'checkout-7f3a' },
        },
      ];
      for (const response of Object.values(responses)) {
        if (!response || '$ref' in response) continue;
        response.headers = {
          ...response.headers,
          [CORRELATION_HEADER]: {
            description: "the request's correlation id, or the one made for it",
            required: true,
            schema: { type: 'string', example: 'checkout-7f3a' },
          },
        };
      }
    }
  }
  return document;
}

/** Serves an app's OpenAPI document: the page at `/docs`, the document at `/docs/openapi.json`. */
export function serveOpenApiDocument(app: INestApplication, builder: DocumentBuilder, describe: (document: OpenAPIObject) => OpenAPIObject = (d) => d): void {
  SwaggerModule.setup('docs', app, () => describe(SwaggerModule.createDocument(app, builder.build(), { extraModels: [ErrorResponse] })), {
    jsonDocumentUrl: 'docs/openapi.json',
  });
}
