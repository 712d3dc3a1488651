import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

type Json = Record<string, unknown>;
type Operation = { tags?: string[]; parameters?: { name: string; in: string }[]; responses?: Record<string, ResponseObject> };
type ResponseObject = {
  description?: string;
  headers?: Record<string, { required?: boolean; schema?: Json }>;
  content?: Record<string, { schema?: Json; example?: unknown }>;
};
export type OpenApiDocument = { paths: Record<string, Record<string, Operation>>; components?: Json };

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/** One HTTP exchange as the client saw it. */
export interface Exchange {
  method: string;
  /** The path as requested, with its query string. */
  url: string;
  status: number;
  headers: Headers;
  text: string;
}

/**
 * Holds an app's served OpenAPI document and checks real responses against
 * it: the operation exists, the status is documented, the body matches the
 * schema of that status and content type (objects may not carry fields the
 * schema does not name), and the documented required response headers are
 * sent. Remembers which operation answered which status, for coverage.
 */
export class OpenApiConformance {
  readonly problems: string[] = [];
  private readonly seen = new Map<string, Set<string>>();
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
  private readonly components: Json;

  constructor(
    readonly name: string,
    readonly document: OpenApiDocument,
  ) {
    this.components = asJsonSchema(document.components ?? {}) as Json;
  }

  /** Every operation of the document, as `GET /orders/{id}`. */
  operations(): string[] {
    return Object.entries(this.document.paths).flatMap(([path, item]) => METHODS.filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${path}`));
  }

  /** Checks one exchange; what does not conform is added to `problems`. */
  check(exchange: Exchange): void {
    const found = this.operationOf(exchange.method, exchange.url);
    const where = `${this.name}: ${exchange.method} ${exchange.url} → ${exchange.status}`;
    if (!found) return void this.problems.push(`${where}: no such operation in the document`);
    const { key, operation } = found;
    const response = operation.responses?.[String(exchange.status)] ?? operation.responses?.default;
    if (!this.seen.has(key)) this.seen.set(key, new Set());
    this.seen.get(key)!.add(String(exchange.status));
    if (!response) return void this.problems.push(`${where}: status ${exchange.status} is not documented for ${key}`);
    for (const [name, header] of Object.entries(response.headers ?? {})) {
      if (header.required && !exchange.headers.has(name)) this.problems.push(`${where}: documented header ${name} was not sent`);
    }
    const contentType = (exchange.headers.get('content-type') ?? '').split(';')[0].trim();
    const media = response.content?.[contentType];
    if (!media?.schema)
      return void this.problems.push(
        `${where}: no schema for ${contentType || 'the response'} (documented: ${Object.keys(response.content ?? {}).join(', ') || 'none'})`,
      );
    const body = contentType === 'application/json' ? (JSON.parse(exchange.text) as unknown) : exchange.text;
    const validate = this.validator(`${key} ${exchange.status} ${contentType}`, media.schema);
    if (!validate(body)) {
      const errors = (validate.errors ?? []).map(
        (e) => `${e.instancePath || '(body)'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`,
      );
      this.problems.push(`${where}: body does not match the schema: ${errors.join('; ')} — body ${exchange.text.slice(0, 300)}`);
    }
  }

  /** Statuses each operation was seen answering. */
  coverage(): Map<string, Set<string>> {
    return this.seen;
  }

  /** Operations lacking what a client generator needs: tags, a schema and an example for every response, the named headers. */
  gaps(options: { requestHeaders: (operation: string) => string[]; responseHeaders: string[] }): string[] {
    const gaps: string[] = [];
    for (const [path, item] of Object.entries(this.document.paths)) {
      for (const method of METHODS.filter((m) => item[m])) {
        const key = `${method.toUpperCase()} ${path}`;
        const operation = item[method];
        if (!operation.tags?.length) gaps.push(`${this.name}: ${key} has no tag`);
        for (const header of options.requestHeaders(key)) {
          if (!operation.parameters?.some((p) => p.in === 'header' && p.name.toLowerCase() === header.toLowerCase()))
            gaps.push(`${this.name}: ${key} does not describe the ${header} request header`);
        }
        const responses = Object.entries(operation.responses ?? {});
        if (!responses.some(([status]) => status.startsWith('2'))) gaps.push(`${this.name}: ${key} documents no success response`);
        if (!responses.some(([status]) => /^[45]/.test(status))) gaps.push(`${this.name}: ${key} documents no error response`);
        for (const [status, response] of responses) {
          const media = Object.values(response.content ?? {});
          if (!media.some((m) => m.schema)) gaps.push(`${this.name}: ${key} ${status} has no response schema`);
          else if (!media.some((m) => m.example !== undefined || hasExample(m.schema, this.components)))
            gaps.push(`${this.name}: ${key} ${status} has no example`);
          for (const header of options.responseHeaders) {
            if (!Object.keys(response.headers ?? {}).some((h) => h.toLowerCase() === header.toLowerCase()))
              gaps.push(`${this.name}: ${key} ${status} does not describe the ${header} response header`);
          }
        }
      }
    }
    return gaps;
  }

  private operationOf(method: string, url: string): { key: string; operation: Operation } | undefined {
    const path = new URL(url, 'http://x').pathname;
    for (const [template, item] of Object.entries(this.document.paths)) {
      const pattern = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`);
      const operation = item[method.toLowerCase()];
      if (operation && pattern.test(path)) return { key: `${method.toUpperCase()} ${template}`, operation };
    }
    return undefined;
  }

  private validator(key: string, schema: Json): ValidateFunction {
    let validate = this.validators.get(key);
    if (!validate) {
      // The document's components travel with each schema, so that its `#/components/...` references resolve.
      validate = this.ajv.compile({ ...(asJsonSchema(schema) as Json), components: this.components });
      this.validators.set(key, validate);
    }
    return validate;
  }
}

/**
 * An OpenAPI 3.0 schema as JSON Schema for ajv: `nullable: true` becomes a
 * `null` alternative, and an object that names its properties allows no
 * others (so that a field the document does not mention is a failure, not
 * drift that goes unseen).
 */
export function asJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(asJsonSchema);
  if (!node || typeof node !== 'object') return node;
  const out: Json = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, k === 'example' || k === 'examples' ? v : asJsonSchema(v)]));
  if (out.properties && typeof out.properties === 'object' && out.additionalProperties === undefined && !('allOf' in out)) out.additionalProperties = false;
  if (out.nullable === true) {
    delete out.nullable;
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    else if (out.enum) out.enum = [...(out.enum as unknown[]), null];
    else return { anyOf: [out, { type: 'null' }] };
    if (out.enum && !(out.enum as unknown[]).includes(null)) out.enum = [...(out.enum as unknown[]), null];
  }
  return out;
}

/** Whether a schema (following references) shows an example somewhere. */
function hasExample(schema: unknown, components: Json, depth = 0): boolean {
  if (!schema || typeof schema !== 'object' || depth > 8) return false;
  const s = schema as Json;
  if (s.example !== undefined || s.examples !== undefined) return true;
  if (typeof s.$ref === 'string') {
    const name = s.$ref.replace('#/components/schemas/', '');
    return hasExample((components.schemas as Json | undefined)?.[name], components, depth + 1);
  }
  return Object.values(s).some((v) => typeof v === 'object' && hasExample(v, components, depth + 1));
}
