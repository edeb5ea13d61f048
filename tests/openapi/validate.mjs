// Validates an OpenAPI document with swagger-parser (the OpenAPI 3.0 schema, unique
// operationIds, $refs that resolve), then what the schema cannot say: every {name} in a path is a
// path parameter of each of its operations, and no operation declares one its path lacks.
//   node validate.mjs OPENAPI.json
import SwaggerParser from '@apidevtools/swagger-parser';

const [file] = process.argv.slice(2);
try {
  const api = await SwaggerParser.validate(file);
  const problems = [];
  for (const [path, item] of Object.entries(api.paths)) {
    const named = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
    for (const [method, operation] of Object.entries(item)) {
      const declared = (operation.parameters || []).filter((p) => p.in === 'path')
        .map((p) => p.name).sort();
      if (JSON.stringify(named) !== JSON.stringify(declared)) {
        problems.push(`${method.toUpperCase()} ${path}: path parameters ${declared} for ${named}`);
      }
    }
  }
  if (problems.length) throw new Error(problems.join('\n'));
  const operations = Object.values(api.paths).reduce((n, item) => n + Object.keys(item).length, 0);
  console.log(`ok - ${file}: valid OpenAPI ${api.openapi}, ${Object.keys(api.paths).length} paths, ${operations} operations`);
} catch (error) {
  console.log(`not ok - ${file}: ${error.message}`);
  process.exit(1);
}
