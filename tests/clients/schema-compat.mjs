// Compares two versions of schema.graphql with GraphQL Inspector's `diff`
// and fails on a breaking change, except the removal of something the old
// version already marked `@deprecated(reason: ...)`: clients were told.
//
// Usage: node schema-compat.mjs OLD.graphql NEW.graphql
// Exit status: 0 when compatible, 1 on a breaking change, 2 on bad input.
//
// The rule is implemented here rather than with Inspector's own
// `suppressRemovalOfDeprecatedField`, because that rule skips removed
// arguments and lets any removed type through; this one allows exactly:
// - a field, argument, input field or enum value removed that the old
//   schema deprecated;
// - a type removed that the old schema reached only through such
//   deprecated fields and arguments (it was in no union and implemented no
//   interface, so no client could name it any other way).
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

import { CriticalityLevel, diff } from '@graphql-inspector/core';
import {
  buildSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isUnionType,
} from 'graphql';

/**
 * Classifies the changes from `oldSdl` to `newSdl`. Returns
 * `{ breaking, allowed, dangerous, safe }`, each a list of Inspector changes;
 * `allowed` are breaking changes that remove what was deprecated.
 */
export async function compare(oldSdl, newSdl) {
  const oldSchema = buildSchema(oldSdl);
  const newSchema = buildSchema(newSdl);
  const changes = await diff(oldSchema, newSchema);
  const result = { breaking: [], allowed: [], dangerous: [], safe: [] };
  for (const change of changes) {
    if (change.criticality.level === CriticalityLevel.Breaking) {
      (removesDeprecated(change, oldSchema) ? result.allowed : result.breaking).push(change);
    } else if (change.criticality.level === CriticalityLevel.Dangerous) {
      result.dangerous.push(change);
    } else {
      result.safe.push(change);
    }
  }
  return result;
}

/** Whether a breaking change only removes what `oldSchema` deprecated. */
function removesDeprecated(change, oldSchema) {
  const [typeName, memberName, argumentName] = (change.path ?? '').split('.');
  const type = oldSchema.getType(typeName);
  switch (change.type) {
    case 'FIELD_REMOVED':
      return (isObjectType(type) || isInterfaceType(type)) && deprecated(type.getFields()[memberName]);
    case 'FIELD_ARGUMENT_REMOVED': {
      const field = (isObjectType(type) || isInterfaceType(type)) ? type.getFields()[memberName] : undefined;
      return deprecated(field?.args.find((argument) => argument.name === argumentName));
    }
    case 'INPUT_FIELD_REMOVED':
      return isInputObjectType(type) && deprecated(type.getFields()[memberName]);
    case 'ENUM_VALUE_REMOVED':
      return isEnumType(type) && deprecated(type.getValue(memberName));
    case 'TYPE_REMOVED':
      return type !== undefined && reachedOnlyThroughDeprecated(type, oldSchema);
    default:
      return false;
  }
}

/** Whether a field, argument, input field or enum value is deprecated. */
function deprecated(member) {
  return member?.deprecationReason != null;
}

/**
 * Whether every place `oldSchema` uses `type` (as a field's, argument's or
 * input field's type) is deprecated, and it is in no union and implements
 * no interface.
 */
function reachedOnlyThroughDeprecated(type, oldSchema) {
  if ((isObjectType(type) || isInterfaceType(type)) && type.getInterfaces().length > 0) return false;
  let uses = 0;
  for (const other of Object.values(oldSchema.getTypeMap())) {
    if (other.name.startsWith('__')) continue;
    if (isUnionType(other) && other.getTypes().includes(type)) return false;
    if (!(isObjectType(other) || isInterfaceType(other) || isInputObjectType(other))) continue;
    for (const field of Object.values(other.getFields())) {
      if (getNamedType(field.type) === type) {
        uses += 1;
        if (!deprecated(field)) return false;
      }
      for (const argument of field.args ?? []) {
        if (getNamedType(argument.type) === type) {
          uses += 1;
          if (!deprecated(argument) && !deprecated(field)) return false;
        }
      }
    }
  }
  return uses > 0;
}

/** Prints the comparison and returns the exit status. */
async function main([oldPath, newPath]) {
  if (!oldPath || !newPath) {
    console.error('usage: node schema-compat.mjs OLD.graphql NEW.graphql');
    return 2;
  }
  const { breaking, allowed, dangerous, safe } = await compare(
    readFileSync(oldPath, 'utf8'),
    readFileSync(newPath, 'utf8'),
  );
  const show = (label, changes) => {
    for (const change of changes) console.log(`  ${label} ${change.path ?? ''}: ${change.message}`);
  };
  show('BREAKING', breaking);
  show('allowed (was deprecated)', allowed);
  show('dangerous', dangerous);
  show('safe', safe);
  console.log(
    `schema changes: ${breaking.length} breaking, ${allowed.length} removals of deprecated, ` +
      `${dangerous.length} dangerous, ${safe.length} safe`,
  );
  if (breaking.length > 0) {
    console.log(
      'a breaking change: mark the field or argument @deprecated(reason: "...") in one commit ' +
        'and remove it in a later one (see "Clients" in README.md)',
    );
    return 1;
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
