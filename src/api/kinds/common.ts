/** Schema pieces several kinds share, so a node name or a condition means the same thing everywhere. */
import { mediaClasses } from '../constants.js';
import { arrayField, enumField, int64Field, int32Field, objectField, stringField, timeField, type CelRule, type Schema } from '../schema.js';

export const maxNameLength = 253;
export const maxPathLength = 1024;
export const maxMessageLength = 4096;

/** `spec.nodeName`, set at creation and never changed. */
export function nodeNameField(what: string): Schema {
  return stringField(`Name of the Kubernetes Node ${what}. Set at creation and immutable.`, {
    minLength: 1,
    maxLength: maxNameLength,
    rules: [immutable('spec.nodeName', 'to move it to another node')],
  });
}

/** A transition rule that forbids changing a field once set. */
export function immutable(path: string, why: string): CelRule {
  return {
    rule: 'self == oldSelf',
    message: `${path} is immutable: delete and recreate the object ${why}`,
    reason: 'FieldValueForbidden',
  };
}

/**
 * A transition rule that lets a byte count grow but never shrink. No messageExpression naming the
 * sizes: the CRD cost estimator treats string(int) as unbounded and rejects the schema.
 */
export function onlyGrows(path: string, advice: string): CelRule {
  return {
    rule: 'self >= oldSelf',
    message: `${path} can only grow: ${advice}`,
    reason: 'FieldValueForbidden',
  };
}

/** A device path under /dev/, with a message that names the bad value. */
export function devicePathField(description: string): Schema {
  return stringField(description, {
    minLength: 1,
    maxLength: maxPathLength,
    rules: [{
      rule: "self.startsWith('/dev/')",
      message: 'device paths must be absolute paths under /dev/, e.g. /dev/sdb or /dev/disk/by-id/wwn-0x5000c500a1b2c3d4',
      messageExpression: `'"' + self + '" is not a device path: use an absolute path under /dev/, e.g. /dev/sdb or /dev/disk/by-id/wwn-0x5000c500a1b2c3d4'`,
      check: (self: string) => self.startsWith('/dev/'),
    }],
  });
}

export function mediaClassField(description: string): Schema {
  return enumField(mediaClasses, description, { typeName: 'MediaClass' });
}

export function bytesField(description: string): Schema {
  return int64Field(`${description} In bytes.`, { minimum: 0 });
}

/** The binary-unit string beside a byte count, for printer columns. */
export function capacityStringField(of: string): Schema {
  return stringField(`${of} in binary units (Ki, Mi, Gi, Ti, Pi), e.g. "1.8Ti", for people and printer columns; written by the controller from the byte count, which is the source of truth.`, { maxLength: 16 });
}

export function messageField(description: string): Schema {
  return stringField(description, { maxLength: maxMessageLength });
}

/** metav1.Condition, listed by type. */
export function conditionsField(of: string): Schema {
  const condition = objectField(`One aspect of the ${of}'s state, in the standard Kubernetes condition shape.`, {
    type: stringField('Type of condition in CamelCase, e.g. Ready.', { minLength: 1, maxLength: 316 }),
    status: enumField(['True', 'False', 'Unknown'], 'Status of the condition: True, False or Unknown.', { typeName: 'ConditionStatus' }),
    observedGeneration: int64Field('metadata.generation the condition was set from; lower than the current generation means stale.', { minimum: 0 }),
    lastTransitionTime: timeField('When the status last changed from one value to another.'),
    reason: stringField('Machine-readable reason for the last transition, in CamelCase.', { minLength: 1, maxLength: 1024 }),
    message: messageField('Human-readable details of the last transition.'),
  }, { required: ['type', 'status', 'lastTransitionTime', 'reason'], typeName: 'Condition' });
  return arrayField(condition, `Current conditions of the ${of}, one per type.`, { maxItems: 32, listType: 'map', listMapKeys: ['type'] });
}

/** Counts of things (disks, volumes) that cannot be negative. */
export function countField(description: string): Schema {
  return int32Field(description, { minimum: 0 });
}
