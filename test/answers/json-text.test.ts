import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SchemaError } from '../../src/answers/errors.js';
import {
  extractJsonCandidates,
  parseJsonAnswer,
  repairJson,
  validateJson,
} from '../../src/answers/json-text.js';

const entitiesSchema = {
  type: 'object',
  properties: {
    entities: {
      type: 'array',
      items: {
        type: 'object',
        properties: { text: { type: 'string' }, type: { type: 'string' } },
        required: ['text', 'type'],
      },
    },
  },
  required: ['entities'],
};

describe('parseJsonAnswer', () => {
  it('parses plain JSON', () => {
    assert.deepEqual(parseJsonAnswer('{"entities":[]}', entitiesSchema), { entities: [] });
  });

  it('takes JSON out of a code fence with prose around it', () => {
    const text =
      'Sure! Here is the answer:\n```json\n{"entities": [{"text": "Paris", "type": "LOC"}]}\n```\nLet me know if you need more.';
    assert.deepEqual(parseJsonAnswer(text, entitiesSchema), { entities: [{ text: 'Paris', type: 'LOC' }] });
  });

  it('finds an object embedded in prose (with apostrophes in the prose)', () => {
    const text =
      'Here\'s what I found: {"entities": [{"text": "EU", "type": "ORG"}]} That\'s all, it\'s done.';
    assert.deepEqual(parseJsonAnswer(text, entitiesSchema), { entities: [{ text: 'EU', type: 'ORG' }] });
  });

  it('repairs single quotes, trailing commas, Python literals and unquoted keys', () => {
    const text = "{'entities': [{'text': \"O'Neil\", type: 'PER', 'nested': True, 'x': None,},],}";
    assert.deepEqual(parseJsonAnswer(text, entitiesSchema), {
      entities: [{ text: "O'Neil", type: 'PER', nested: true, x: null }],
    });
  });

  it('handles an apostrophe inside a single-quoted string escaped with a backslash', () => {
    assert.deepEqual(JSON.parse(repairJson("{'a': 'it\\'s'}")), { a: "it's" });
  });

  it('skips a first JSON value that does not fit and takes one that does', () => {
    const text = 'Example format: {"foo": 1}. Answer: {"entities": []}';
    assert.deepEqual(parseJsonAnswer(text, entitiesSchema), { entities: [] });
  });

  it('accepts a top-level array when the schema wants one', () => {
    const schema = { type: 'array', items: { type: 'string' } };
    assert.deepEqual(parseJsonAnswer('The spans are ["Paris", "EU"].', schema), ['Paris', 'EU']);
  });

  it('throws SchemaError with the validation error when the JSON does not fit', () => {
    assert.throws(
      () => parseJsonAnswer('{"entities": [{"text": "x"}]}', entitiesSchema, 'm'),
      (e: unknown) =>
        e instanceof SchemaError && /type/.test(e.message) && e.model === 'm' && e.text.includes('"x"'),
    );
  });

  it('throws SchemaError when there is no JSON at all', () => {
    assert.throws(
      () => parseJsonAnswer('I cannot find any entities.', entitiesSchema),
      (e: unknown) => e instanceof SchemaError && /no JSON/.test(e.message),
    );
  });

  it('does not take inner objects of an unfit outer object as the answer', () => {
    const schema = {
      type: 'object',
      properties: { text: { type: 'string' } },
      required: ['text'],
      additionalProperties: false,
    };
    assert.throws(() => parseJsonAnswer('{"wrapper": {"text": "x"}}', schema), SchemaError);
  });
});

describe('validateJson / extractJsonCandidates', () => {
  it('returns undefined for valid values and an error text otherwise', () => {
    assert.equal(validateJson({ entities: [] }, entitiesSchema), undefined);
    assert.match(String(validateJson({}, entitiesSchema)), /entities/);
  });

  it('finds values in fences and text', () => {
    assert.deepEqual(extractJsonCandidates('a ```\n[1,2,]\n``` b {"c": 3}'), [[1, 2], { c: 3 }]);
  });
});
