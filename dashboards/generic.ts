/** The regular panels: one per numeric field of a schema, read entirely from the schema. */
import type { PanelSpec } from './panels';
import type { Aggregate, Measurement } from './query';
import { isAdditive, panelUnit } from './units';

/**
 * One time series panel per int/float field, one line per combination of `groupBy` tags (default:
 * every tag of the schema). Fields counted per slot (downsample `sum`) are shown per second, so a
 * panel reads the same on every RP. When tags are left out of the grouping, additive units are summed
 * across the series they merge and the others are averaged. Fields in `exclude` get no panel.
 */
export function genericPanels(measurement: Measurement, groupBy: string[] = measurement.tags, exclude: string[] = []): PanelSpec[] {
  for (const tag of groupBy) measurement.tag(tag);
  for (const name of exclude) measurement.field(name);
  const merged = groupBy.length < measurement.tags.length;
  const specs: PanelSpec[] = [];
  for (const [name, field] of Object.entries(measurement.schema.fields)) {
    if ((field.type !== 'int' && field.type !== 'float') || exclude.includes(name)) continue;
    const perSecond = field.downsample === 'sum';
    let fn: Aggregate;
    if (perSecond) fn = 'sum';
    else if (merged) fn = isAdditive(field.unit) ? 'sum' : 'mean';
    else fn = field.downsample;
    specs.push({
      kind: 'timeseries',
      title: perSecond ? `${name} per second` : name,
      description: field.description,
      unit: panelUnit(field, perSecond, `schemas/${measurement.name}.json field '${name}'`),
      queries: [{ measurement, select: [{ fn, field: name, perSecond }], groupBy, alias: groupBy.map((tag) => `$tag_${tag}`).join(' ') || name }],
      width: 8,
      height: 7,
    });
  }
  return specs;
}
