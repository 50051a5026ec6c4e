/** The loam.io/v1alpha1 API: names, types, validators, and the helpers controllers share. */
export * from './constants.js';
export * from './names.js';
export * from './quantity.js';
export * from './validate.js';
export type * from './generated/types.js';
export { allKinds } from './kinds/index.js';
export { loamResources } from './resources.js';
