/** The OpenAPI document served at /openapi.json. */
const entity = {
  type: 'object',
  required: ['start', 'end', 'type', 'text'],
  properties: {
    start: { type: 'integer', description: 'UTF-16 code unit offset, inclusive' },
    end: { type: 'integer', description: 'UTF-16 code unit offset, exclusive' },
    type: { type: 'string' },
    text: { type: 'string' },
    score: { type: 'number' },
    sources: { type: 'array', items: { type: 'object' } },
  },
};

export const nerRequestSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    text: { type: 'string', minLength: 1 },
    texts: { type: 'array', minItems: 1, maxItems: 256, items: { type: 'string', minLength: 1 } },
    labels: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
    stages: {
      type: 'object',
      additionalProperties: false,
      properties: {
        retrieval: { enum: ['span-level', 'sentence-embedding', 'random', 'none'] },
        extraction: { enum: ['union', 'single'] },
        classification: { enum: ['vote', 'weighted-vote', 'single'] },
        verification: { type: 'boolean' },
        decomposition: { type: 'boolean' },
      },
    },
  },
  oneOf: [{ required: ['text'] }, { required: ['texts'] }],
} as const;

export const jobRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['texts'],
  properties: {
    texts: { type: 'array', minItems: 1, maxItems: 100000, items: { type: 'string', minLength: 1 } },
  },
} as const;

export const openApiDocument = {
  openapi: '3.0.3',
  info: {
    title: 'el4ner',
    version: '0.1.0',
    description:
      'Named entity recognition with an ensemble of small LLMs. Every error is a JSON body {"error": "..."}; ' +
      'a path not listed here is 404, a listed path asked with a method it does not list is 405 with an ' +
      'Allow header naming the methods it takes (a GET path takes HEAD too).',
  },
  paths: {
    '/v1/ner': {
      post: {
        summary: 'Find the entities of one text or a few texts',
        requestBody: { required: true, content: { 'application/json': { schema: nerRequestSchema } } },
        responses: {
          '200': {
            description: 'entities per text',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    results: {
                      type: 'array',
                      items: {
                        type: 'object',
                        properties: {
                          text: { type: 'string' },
                          entities: { type: 'array', items: entity },
                          degraded: {
                            type: 'boolean',
                            description: 'something was lost for this document (see warnings)',
                          },
                          warnings: { type: 'array', items: { type: 'object' } },
                          error: {
                            type: 'string',
                            description:
                              'a document of a batch (texts) no model answered for: no entities, and why',
                          },
                        },
                      },
                    },
                    warnings: { type: 'array', items: { type: 'object' } },
                  },
                },
              },
            },
          },
          '400': {
            description:
              'invalid request; labels the configured method cannot tag (a supervised tagger alone)',
          },
          '401': { description: 'missing or wrong bearer token' },
          '413': { description: "body larger than the server's limit (el4ner serve --body-limit)" },
          '415': { description: 'a body that is not JSON (content-type: application/json)' },
          '429': { description: 'every method slot (label sets / stage options) has requests in flight' },
          '503': {
            description:
              'no engine answered for the document of a single `text` (a batch returns the document with its error)',
          },
          '504': { description: 'request timed out' },
        },
      },
    },
    '/v1/ner/jobs': {
      post: {
        summary: 'Start a batch job',
        requestBody: { required: true, content: { 'application/json': { schema: jobRequestSchema } } },
        responses: { '202': { description: 'job accepted: {id}' } },
      },
    },
    '/v1/ner/jobs/{id}': {
      get: {
        summary: 'Poll a batch job',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': { description: 'status, progress and, when done, results' },
          '404': { description: 'no such job' },
        },
      },
    },
    '/healthz': { get: { summary: 'The process is up', responses: { '200': { description: 'ok' } } } },
    '/readyz': {
      get: {
        summary: 'Every configured engine is reachable',
        responses: { '200': { description: 'ready' }, '503': { description: 'not ready' } },
      },
    },
    '/metrics': {
      get: { summary: 'Prometheus metrics', responses: { '200': { description: 'text exposition format' } } },
    },
    '/': {
      get: {
        summary: 'HTML page: a form, and the highlighted entities of ?text=',
        responses: { '200': { description: 'HTML' } },
      },
    },
  },
} as const;
