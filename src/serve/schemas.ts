// What requests look like: the JSON Schema of each route's JSON body and query string. fastify
// checks them (ajv) before a handler runs, and a failure answers 400 with one line that names
// the field. Bodies are checked without type coercion (a string is not a number); query strings
// are text, so there numbers and booleans are read from it. Per-sample checks that a schema
// cannot state cheaply (a sample's value count for its shape, the float32 range of a million
// pixels, image headers) stay in request-samples.ts.
import { Ajv, type ErrorObject, type Options } from 'ajv';
import type { FastifyInstance, FastifySchema } from 'fastify';

/** The largest float32: a number beyond it is not something the model can compute with. */
const FLOAT32_MAX = 3.4028234663852886e38;

export interface SchemaLimits {
  codeSize: number;
  maxK: number;
}

// A schema may carry `message`: the line shown when it fails (a string for every keyword, or
// one per keyword). Without one, ajv's own words follow the field's path.
type Messages = string | Record<string, string>;

const samplesProperties = {
  images: { type: 'array', message: '"images" must be an array of samples' },
  image: { type: ['array', 'number'], message: '"image" must be one sample: an array of numbers (nested arrays allowed)' },
  png: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }], message: '"png" must be a base64 string or an array of them' },
};

const objectBody = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: 'object',
  properties,
  additionalProperties: false,
  message: { type: 'the JSON body must be an object, e.g. {"images": [[...]]}' },
  ...extra,
});

const jsonBody = (schema: unknown) => ({ content: { 'application/json': { schema } } });

const booleanText = (name: string) => ({ type: 'string', enum: ['0', '1', 'true', 'false'], message: `"${name}" must be 1, 0, true or false` });

/** Samples as JSON (embed, reconstruct, score): exactly one of images, image or png. */
function samplesSchema(): FastifySchema {
  return {
    body: jsonBody(objectBody(samplesProperties, {
      oneOf: [{ required: ['images'] }, { required: ['image'] }, { required: ['png'] }],
      message: { type: 'the JSON body must be an object, e.g. {"images": [[...]]}', oneOf: 'expected exactly one of "images" (an array of samples), "image" (one sample) or "png" (base64 strings)' },
    })),
  };
}

function scoreSchema(): FastifySchema {
  return { ...samplesSchema(), querystring: { type: 'object', properties: { pixels: booleanText('pixels') } } };
}

function searchSchema({ codeSize, maxK }: SchemaLimits): FastifySchema {
  const k = { type: 'integer', minimum: 1, maximum: maxK, message: `k must be an integer from 1 to ${maxK}` };
  const float = { type: 'number', minimum: -FLOAT32_MAX, maximum: FLOAT32_MAX };
  const vector = { type: 'array', items: float, minItems: codeSize, maxItems: codeSize };
  return {
    body: jsonBody(objectBody({
      ...samplesProperties,
      k,
      exact: { type: 'boolean', message: '"exact" must be true or false' },
      split: { type: 'string', message: '"split" must be a string' },
      id: { anyOf: [{ type: 'integer' }, { type: 'array', items: { type: 'integer' } }], message: '"id" must be an integer (or a list)' },
      vector: { anyOf: [vector, { type: 'array', items: vector }], message: `"vector": expected ${codeSize} finite numbers within the 32-bit float range (3.4e38), or a list of such vectors` },
    }, {
      oneOf: ['id', 'vector', 'images', 'image', 'png'].map((key) => ({ required: [key] })),
      message: { type: 'the JSON body must be an object, e.g. {"id": 3, "k": 5}', oneOf: 'expected exactly one query: "id", "vector", "images", "image" or "png"' },
    })),
    querystring: { type: 'object', properties: { k, exact: booleanText('exact') } },
  };
}

function generateSchema(): FastifySchema {
  const properties = {
    n: { type: 'integer', minimum: 1, message: '"n" must be a positive integer' },
    seed: { type: 'integer', message: '"seed" must be an integer' },
    std: { type: 'number', exclusiveMinimum: 0, message: '"std" must be a positive number' },
  };
  return {
    body: jsonBody(objectBody(properties, { message: { type: 'the JSON body must be an object, e.g. {"n": 16, "seed": 0, "std": 1}' } })),
    querystring: { type: 'object', properties },
  };
}

export const routeSchemas = (limits: SchemaLimits) => ({
  embed: samplesSchema(),
  reconstruct: samplesSchema(),
  score: scoreSchema(),
  search: searchSchema(limits),
  generate: generateSchema(),
});

export type RouteSchemas = ReturnType<typeof routeSchemas>;

function newAjv(options: Options): Ajv {
  const ajv = new Ajv({ verbose: true, allErrors: true, allowUnionTypes: true, ...options });
  ajv.addKeyword({ keyword: 'message', schemaType: ['string', 'object'] });
  return ajv;
}

const jsonType = (x: unknown) => (x === null ? 'null' : Array.isArray(x) ? 'array' : Number.isInteger(x) ? 'integer' : typeof x);

/** Whether the value is not of the type its schema asks for. */
function wrongType(e: ErrorObject): boolean {
  const types = [(e.parentSchema as { type?: string | string[] } | undefined)?.type ?? []].flat();
  const t = jsonType(e.data);
  return types.length > 0 && !types.includes(t) && !(t === 'integer' && types.includes('number'));
}

// The one error worth reporting (ajv collects all): a value of the wrong type, then an unknown
// field, then a field's own rule, then "exactly one of". Errors inside anyOf/oneOf branches are
// summed up by the combinator's own error and its message.
function rank(e: ErrorObject): number {
  if (wrongType(e)) return 0;
  if (e.keyword === 'additionalProperties') return 1;
  return e.keyword === 'oneOf' || e.keyword === 'anyOf' ? 3 : 2;
}

function describe(e: ErrorObject, part: string): string {
  const where = `${part === 'body' ? '' : `${part} `}${e.instancePath.slice(1).replaceAll('/', '.') || part}`;
  const schema = e.parentSchema as { message?: Messages; properties?: Record<string, unknown> } | undefined;
  if (e.keyword === 'additionalProperties') {
    const known = Object.keys(schema?.properties ?? {}).map((k) => `"${k}"`).join(', ');
    return `unknown field "${(e.params as { additionalProperty: string }).additionalProperty}" in the ${part}; it takes ${known}`;
  }
  const m = schema?.message;
  const line = typeof m === 'string' ? m : (m?.[wrongType(e) ? 'type' : e.keyword] ?? `${where} ${e.message}`);
  const shown = e.data === undefined || typeof e.data === 'object' ? '' : `, got ${JSON.stringify(e.data).slice(0, 40)}`;
  return line + shown;
}

function report(errors: ErrorObject[], part: string): Error {
  const outer = errors.filter((e) => !/\/(anyOf|oneOf)\/\d+\//.test(e.schemaPath));
  const best = (outer.length ? outer : errors).reduce((a, b) => (rank(b) < rank(a) ? b : a));
  return new Error(describe(best, part));
}

/** Compile route schemas with strict bodies and read-from-text query strings; one-line 400s. */
export function installValidation(app: FastifyInstance): void {
  const bodies = newAjv({ coerceTypes: false });
  const queries = newAjv({ coerceTypes: true });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodies : queries).compile(schema));
  app.setSchemaErrorFormatter((errors, part) => report(errors as ErrorObject[], part));
}
