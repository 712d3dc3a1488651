import { OpenApiConformance, OpenApiDocument } from './openapi-conformance';

const document: OpenApiDocument = {
  paths: {
    '/things/{id}': {
      get: {
        tags: ['things'],
        responses: {
          '200': {
            headers: { 'X-Correlation-Id': { required: true, schema: { type: 'string' } } },
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } },
          },
        },
      },
    },
  },
  components: {
    schemas: {
      Thing: {
        type: 'object',
        required: ['id', 'note'],
        properties: { id: { type: 'string', format: 'uuid' }, note: { type: 'string', nullable: true, example: 'x' } },
      },
    },
  },
};

const exchange = (status: number, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json', 'x-correlation-id': 'c' }) => ({
  method: 'GET',
  url: '/things/1?x=y',
  status,
  headers: new Headers(headers),
  text: JSON.stringify(body),
});
const ID = '0b6f7c1e-4a53-4d7e-9b0a-6f1d2c3e4f50';

describe('OpenApiConformance', () => {
  it('accepts a response that matches its schema, a nullable field null included', () => {
    const doc = new OpenApiConformance('t', document);
    doc.check(exchange(200, { id: ID, note: null }));
    expect(doc.problems).toEqual([]);
    expect([...doc.coverage().get('GET /things/{id}')!]).toEqual(['200']);
  });

  it('reports a field the schema does not name, a wrong type, an undocumented status and a missing documented header', () => {
    const doc = new OpenApiConformance('t', document);
    doc.check(exchange(200, { id: ID, note: 'x', extra: 1 }));
    doc.check(exchange(200, { id: 'not-a-uuid', note: 3 }));
    doc.check(exchange(404, { statusCode: 404 }));
    doc.check(exchange(200, { id: ID, note: 'x' }, { 'content-type': 'application/json' }));
    expect(doc.problems).toEqual([
      expect.stringMatching(/must NOT have additional properties \(extra\)/),
      expect.stringMatching(/\/id must match format "uuid".*\/note must be string,null/),
      expect.stringMatching(/status 404 is not documented for GET \/things\/\{id\}/),
      expect.stringMatching(/documented header X-Correlation-Id was not sent/),
    ]);
  });

  it('names what a document lacks: an error response, a request header', () => {
    const gaps = new OpenApiConformance('t', document).gaps({ requestHeaders: () => ['X-Correlation-Id'], responseHeaders: ['X-Correlation-Id'] });
    expect(gaps).toEqual(['t: GET /things/{id} does not describe the X-Correlation-Id request header', 't: GET /things/{id} documents no error response']);
  });
});
