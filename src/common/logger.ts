import winston from 'winston';

const level = process.env.LOAM_LOG_LEVEL ?? 'info';

const root = winston.createLogger({
  level,
  format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json()),
  // stderr keeps stdout free for a command's own output (kubectl-style tables, printed paths).
  transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] })],
});

export type Logger = winston.Logger;

/** One structured logger per component; add child loggers per object key with `.child({ key })`. */
export function componentLogger(component: string): Logger {
  return root.child({ component });
}

/** Sets the level of every component logger (entry points call this from --log-level). */
export function setLogLevel(newLevel: string): void {
  root.level = newLevel;
}
