/**
 * Disk health from `smartctl -j` (smartmontools), when it is installed. Only reads: `-H -A -i`
 * ask the drive for its health, attributes and identity. `Unknown` when smartctl is missing or the
 * device has no SMART (loop devices, most virtual disks).
 */
import { execa } from 'execa';
import type { DiskHealth, SmartData } from '../api/index.js';

export interface SmartReading {
  health: DiskHealth;
  smart?: SmartData;
  /** Why health is Unknown, for the log. */
  note?: string;
}

interface AtaAttribute {
  id?: number;
  value?: number;
  thresh?: number;
  when_failed?: string;
  raw?: { value?: number };
}

interface SmartctlJson {
  smartctl?: { exit_status?: number; messages?: Array<{ string?: string }> };
  smart_status?: { passed?: boolean };
  temperature?: { current?: number };
  power_on_time?: { hours?: number };
  nvme_smart_health_information_log?: { critical_warning?: number; media_errors?: number; percentage_used?: number };
  ata_smart_attributes?: { table?: AtaAttribute[] };
}

/** smartctl exit status bits 0-2: bad arguments or unknown device type, device not opened, SMART command failed. */
const noSmartBits = 0b111;
/** Bit 3: "SMART status check returned DISK FAILING". */
const failingBit = 0b1000;
/** Bits 4 and 5: prefail or usage attributes at or past their threshold. */
const thresholdBits = 0b110000;

const reallocatedSectors = 5;
const pendingSectors = 197;

function intOrUndefined(v: number | undefined, min: number, max: number): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? Math.min(max, Math.max(min, Math.round(v))) : undefined;
}

/** The health and figures in one `smartctl -j` answer (pure, for tests). */
export function parseSmartctl(json: SmartctlJson, checkedAt: Date = new Date()): SmartReading {
  const exit = json.smartctl?.exit_status ?? 0;
  const passed = json.smart_status?.passed;
  if (passed === undefined && (exit & noSmartBits) !== 0) {
    return { health: 'Unknown', note: json.smartctl?.messages?.map((m) => m.string).join('; ') || 'no SMART data' };
  }
  const nvme = json.nvme_smart_health_information_log;
  const table = json.ata_smart_attributes?.table ?? [];
  const raw = (id: number): number => table.find((a) => a.id === id)?.raw?.value ?? 0;
  const mediaErrors = nvme ? nvme.media_errors : table.length > 0 ? raw(reallocatedSectors) + raw(pendingSectors) : undefined;
  const smart: SmartData = { checkedAt: checkedAt.toISOString() };
  const temperatureC = intOrUndefined(json.temperature?.current, -100, 200);
  const powerOnHours = intOrUndefined(json.power_on_time?.hours, 0, Number.MAX_SAFE_INTEGER);
  const errors = intOrUndefined(mediaErrors, 0, Number.MAX_SAFE_INTEGER);
  const percentageUsed = intOrUndefined(nvme?.percentage_used, 0, 255);
  if (temperatureC !== undefined) smart.temperatureC = temperatureC;
  if (powerOnHours !== undefined) smart.powerOnHours = powerOnHours;
  if (errors !== undefined) smart.mediaErrors = errors;
  if (percentageUsed !== undefined) smart.percentageUsed = percentageUsed;

  let health: DiskHealth;
  if (passed === false || (exit & failingBit) !== 0) health = 'Failing';
  else if ((exit & thresholdBits) !== 0 || (errors ?? 0) > 0 || (percentageUsed ?? 0) >= 90 || (nvme?.critical_warning ?? 0) !== 0) health = 'Warning';
  else if (passed === true) health = 'Healthy';
  else health = 'Unknown';
  return { health, smart };
}

/** Runs smartctl on a device; Unknown when it is not installed or says nothing usable. */
export async function readSmart(devnode: string, smartctl = 'smartctl', timeoutMs = 30_000): Promise<SmartReading> {
  const result = await execa(smartctl, ['-j', '-H', '-A', '-i', devnode], { reject: false, timeout: timeoutMs, env: { LC_ALL: 'C' } });
  if ((result as { code?: string }).code === 'ENOENT' || result.failed && !result.stdout) {
    return { health: 'Unknown', note: `${smartctl} is not available: ${result.shortMessage}` };
  }
  try {
    return parseSmartctl(JSON.parse(result.stdout) as SmartctlJson);
  } catch (err) {
    return { health: 'Unknown', note: `unreadable smartctl output: ${(err as Error).message}` };
  }
}
