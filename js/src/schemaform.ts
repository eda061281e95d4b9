/**
 * The Submit tab's form model: fields from a workflow's parameter JSON Schema (what
 * `GET promethium/workflows` gives, built by pydantic from the workflow's signature),
 * values typed by the user turned back into JSON parameters, and the server's refusal
 * placed on the field it is about. No Lab imports.
 */

/** How a field is edited. */
export type FieldType = 'number' | 'integer' | 'string' | 'boolean' | 'enum' | 'path' | 'json';

/** One field of the submit form. */
export interface IFormField {
  name: string;
  title: string;
  description: string;
  type: FieldType;
  /** The schema's default (undefined when there is none). */
  default: unknown;
  required: boolean;
  /** `null` is a valid value (an `anyOf` with `{"type": "null"}`). */
  nullable: boolean;
  /** Choices of an `enum`. */
  options: unknown[];
  /** Names an output path (`x-promethium-output`). */
  output: boolean;
  /** Only Python callers can fill it (`x-python-only`): not shown. */
  pythonOnly: boolean;
  /** Types a `json` field accepts (`string`, `integer`, `array`, ...). */
  accepts: string[];
}

type Schema = Record<string, unknown>;

function asSchema(value: unknown): Schema {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Schema) : {};
}

/** The non-null alternatives of a property, and whether null is one. */
function alternatives(prop: Schema): { options: Schema[]; nullable: boolean } {
  const anyOf = Array.isArray(prop['anyOf']) ? (prop['anyOf'] as unknown[]).map(asSchema) : [prop];
  const options: Schema[] = [];
  let nullable = false;
  for (const option of anyOf) {
    const type = option['type'];
    if (type === 'null') {
      nullable = true;
    } else if (Array.isArray(type)) {
      if (type.includes('null')) {
        nullable = true;
      }
      for (const t of type) {
        if (t !== 'null') {
          options.push({ ...option, type: t });
        }
      }
    } else {
      options.push(option);
    }
  }
  return { options, nullable };
}

function typeOf(options: Schema[]): FieldType {
  if (options.length === 1) {
    const only = options[0];
    if (Array.isArray(only['enum'])) {
      return 'enum';
    }
    if (only['format'] === 'path' && only['type'] === 'string') {
      return 'path';
    }
    switch (only['type']) {
      case 'number':
        return 'number';
      case 'integer':
        return 'integer';
      case 'boolean':
        return 'boolean';
      case 'string':
        return 'string';
    }
  }
  if (options.length > 0 && options.every(o => o['format'] === 'path')) {
    return 'path';
  }
  return 'json';
}

/** The fields of a parameter schema, in its property order (Python-only ones included). */
export function formFields(schema: unknown): IFormField[] {
  const root = asSchema(schema);
  const props = asSchema(root['properties']);
  const required = new Set(Array.isArray(root['required']) ? (root['required'] as string[]) : []);
  return Object.entries(props).map(([name, value]) => {
    const prop = asSchema(value);
    const { options, nullable } = alternatives(prop);
    const type = typeOf(options);
    const enumValues = options.length === 1 && Array.isArray(options[0]['enum'])
      ? (options[0]['enum'] as unknown[])
      : Array.isArray(prop['enum'])
        ? (prop['enum'] as unknown[])
        : [];
    // a nullable boolean has three answers: yes, no, and the workflow's choice (omitted)
    const triState = type === 'boolean' && nullable;
    return {
      name,
      title: typeof prop['title'] === 'string' && prop['title'] ? prop['title'] : name,
      description: typeof prop['description'] === 'string' ? prop['description'] : '',
      type: triState || (enumValues.length && type === 'json') ? 'enum' : type,
      default: 'default' in prop ? prop['default'] : undefined,
      required: required.has(name),
      nullable,
      options: triState ? [true, false] : enumValues,
      output: Boolean(prop['x-promethium-output']),
      // JSON can only say null here: what the workflow takes is a Python object
      pythonOnly: Boolean(prop['x-python-only']) || (options.length === 0 && nullable),
      accepts: options.map(o => String(o['type'] ?? 'any'))
    };
  });
}

/** The text a field starts with (its default; '' when none or null). */
export function initialText(field: IFormField): string {
  const value = field.default;
  if (value === undefined || value === null) {
    return '';
  }
  if (typeof value === 'string') {
    return field.type === 'json' && !field.accepts.includes('string') ? JSON.stringify(value) : value;
  }
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** A field's value read from the form: the JSON value, omitted, or an error. */
export type Parsed = { value: unknown } | { omit: true } | { error: string };

/**
 * The JSON value of what was typed in a field (`raw` is the text, or the checkbox for a
 * boolean). An empty optional field is omitted (the workflow's default applies); an
 * empty required one is an error.
 */
export function parseField(field: IFormField, raw: string | boolean): Parsed {
  if (field.type === 'boolean') {
    return { value: Boolean(raw) };
  }
  const text = String(raw).trim();
  if (text === '') {
    return field.required ? { error: 'required' } : { omit: true };
  }
  if (field.nullable && (text === 'None' || text === 'null')) {
    return { value: null };
  }
  switch (field.type) {
    case 'integer': {
      if (!/^[+-]?\d+$/.test(text)) {
        return { error: `${text} is not a whole number` };
      }
      return { value: Number(text) };
    }
    case 'number': {
      const n = Number(text);
      return Number.isFinite(n) ? { value: n } : { error: `${text} is not a number` };
    }
    case 'enum': {
      const match = field.options.find(o => String(o) === text);
      return match === undefined
        ? { error: `pick one of ${field.options.map(String).join(', ')}` }
        : { value: match };
    }
    case 'string':
    case 'path':
      return { value: text };
    case 'json': {
      try {
        return { value: JSON.parse(text) };
      } catch {
        if (field.accepts.includes('string')) {
          return { value: text };
        }
        return { error: `not JSON (e.g. ${field.accepts.includes('array') ? '[1, 2]' : '3'})` };
      }
    }
  }
}

/** The parameters of a form, or the errors of its fields. */
export function collectParameters(
  fields: IFormField[],
  raws: Record<string, string | boolean>
): { parameters: Record<string, unknown>; errors: Record<string, string> } {
  const parameters: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const field of fields) {
    if (field.pythonOnly || !(field.name in raws)) {
      continue;
    }
    const parsed = parseField(field, raws[field.name]);
    if ('error' in parsed) {
      errors[field.name] = parsed.error;
    } else if ('value' in parsed) {
      parameters[field.name] = parsed.value;
    }
  }
  return { parameters, errors };
}
