/** Schema pieces several kinds share, so a node name or a condition means the same thing everywhere. */
import { mediaClasses, volumeGroupNames } from '../constants.js';
import { arrayField, enumField, int64Field, int32Field, objectField, stringField, timeField, type CelRule, type Schema } from '../schema.js';

export const maxNameLength = 253;
export const maxPathLength = 1024;
export const maxMessageLength = 4096;
/**
 * Longest volume name: it is the LV name (LVM allows 127, and device-mapper's `<vg>-<lv>` with
 * doubled hyphens must stay under 128) and the value of the `loam.io/volume` label (63).
 */
export const maxVolumeNameLength = 63;
/** Largest byte count: Loam's code holds sizes as JavaScript numbers, exact up to 2^53 - 1 (8 PiB). */
export const maxBytes = Number.MAX_SAFE_INTEGER;

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// Written with [.] rather than an escaped dot, so the same text is a valid CEL string and JS regex.
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A `..` path segment, or whitespace and control characters (which break argument lists and config files). */
// eslint-disable-next-line no-control-regex -- control characters are exactly what it must find
const unsafePathPart = /(^|\/)[.][.](\/|$)|[\x00-\x20\x7f]/;
const unsafePathPartCel = '(^|/)[.][.](/|$)|[[:cntrl:][:space:]]';

/** `spec.nodeName`, set at creation and never changed. */
export function nodeNameField(what: string): Schema {
  return stringField(`Name of the Kubernetes Node ${what}. Set at creation and immutable.`, {
    minLength: 1,
    maxLength: maxNameLength,
    rules: [nodeNameRule('spec.nodeName'), immutable('spec.nodeName', 'to move it to another node')],
  });
}

/**
 * A node name is a DNS subdomain, as Kubernetes requires of Node names; it becomes a label value,
 * part of object names and DRBD's `on <host>`, so nothing else (spaces, options, paths) may pass.
 */
export function nodeNameRule(field: string): CelRule {
  return {
    rule: `self.matches('${dnsSubdomain.source}')`,
    message: `${field} must hold the name of a Kubernetes Node: lower-case letters, digits, "-" and ".", each dot-separated part starting and ending with a letter or digit`,
    messageExpression: `'"' + self + '" is not a node name: use the name of a Kubernetes Node (lower-case letters, digits, "-" and ".", each dot-separated part starting and ending with a letter or digit)'`,
    check: (self: string) => dnsSubdomain.test(self),
  };
}

/** A string field at `field` holding a node name (lists of nodes, DRBD's peer). */
export function nodeRefField(field: string, description: string): Schema {
  return stringField(description, { minLength: 1, maxLength: maxNameLength, rules: [nodeNameRule(field)] });
}

/**
 * A volume name reaches LVM as the LV name (`lvcreate -n`) and the API as the `loam.io/volume`
 * label, so it is a DNS label of at most 63 characters (what CSI volume ids `pvc-<uid>` and
 * `vol-<hex>` are) and avoids the names LVM reserves (`snapshot*`, `pvmove*`). `expr` is the CEL
 * path of the value (`self`, or `self.metadata.name` in a rule on the whole object).
 */
export function volumeNameRule(path: string, expr = 'self', read: (self: never) => unknown = (self) => self): CelRule {
  const ok = (v: unknown): boolean => typeof v === 'string' && v.length <= maxVolumeNameLength && dnsLabel.test(v) && !v.startsWith('snapshot') && !v.startsWith('pvmove');
  const rule = `size(${expr}) <= ${maxVolumeNameLength} && ${expr}.matches('${dnsLabel.source}') && !${expr}.startsWith('snapshot') && !${expr}.startsWith('pvmove')`;
  const advice = `at most ${maxVolumeNameLength} lower-case letters, digits and "-", starting and ending with a letter or digit, not starting with "snapshot" or "pvmove" (it names the LV and the loam.io/volume label)`;
  return {
    rule,
    message: `${path} must be a volume id such as pvc-<uid>: ${advice}`,
    messageExpression: `'"' + ${expr} + '" is not a volume name: use a volume id such as pvc-<uid>: ${advice}'`,
    check: (self: never) => ok(read(self)),
  };
}

/** The name of a LocalVolume as another object refers to it, at `path`. */
export function volumeNameField(path: string, description: string, extraRules: readonly CelRule[] = []): Schema {
  return stringField(description, { minLength: 1, maxLength: maxVolumeNameLength, rules: [volumeNameRule(path), ...extraRules] });
}

/** An LVM volume group of Loam: the LV is made there, so no other VG (the OS's, say) may be named. */
export function poolNameField(description: string): Schema {
  const list = volumeGroupNames.map((n) => `'${n}'`).join(', ');
  const names = `${volumeGroupNames.slice(0, -1).join(', ')} or ${volumeGroupNames.at(-1)}`;
  return stringField(description, {
    minLength: 1,
    maxLength: 32,
    rules: [{
      rule: `self in [${list}]`,
      message: `spec.poolName must be ${names}: Loam makes LVs only in the volume groups it created`,
      messageExpression: `'"' + self + '" is not a Loam volume group: spec.poolName must be ${names} (Loam makes LVs only in the volume groups it created)'`,
      check: (self: string) => (volumeGroupNames as readonly string[]).includes(self),
    }],
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

/**
 * A device path under /dev/, with a message that names the bad value. A `..` part would lead out
 * of /dev/ after the prefix check; whitespace and control characters have no place in a device
 * path and would split an argument or a line of a config file.
 */
export function devicePathField(description: string): Schema {
  return stringField(description, {
    minLength: 1,
    maxLength: maxPathLength,
    rules: [{
      rule: "self.startsWith('/dev/')",
      message: 'device paths must be absolute paths under /dev/, e.g. /dev/sdb or /dev/disk/by-id/wwn-0x5000c500a1b2c3d4',
      messageExpression: `'"' + self + '" is not a device path: use an absolute path under /dev/, e.g. /dev/sdb or /dev/disk/by-id/wwn-0x5000c500a1b2c3d4'`,
      check: (self: string) => self.startsWith('/dev/'),
    }, {
      rule: `!self.matches('${unsafePathPartCel}')`,
      message: 'device paths must not contain ".." parts, spaces or control characters: give the plain path, e.g. /dev/disk/by-id/wwn-0x5000c500a1b2c3d4',
      messageExpression: `'"' + self + '" is not a plain device path: remove ".." parts, spaces and control characters, e.g. /dev/disk/by-id/wwn-0x5000c500a1b2c3d4'`,
      check: (self: string) => !unsafePathPart.test(self),
    }],
  });
}

export function mediaClassField(description: string): Schema {
  return enumField(mediaClasses, description, { typeName: 'MediaClass' });
}

export function bytesField(description: string): Schema {
  return int64Field(`${description} In bytes.`, { minimum: 0, maximum: maxBytes });
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
