// The scenarios shipped with the page: every lesson and exercise of scenarios/lessons/, the
// misconfigured example and the catalogue of mistakes, inlined at build time (the page makes
// no request for them).

const lessonFiles = import.meta.glob('../../../scenarios/lessons/*.yaml', {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;
const mistakeFiles = import.meta.glob('../../../scenarios/mistakes/*.yaml', {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;
import misconfigured from '../../../scenarios/misconfigured.yaml?raw';

export interface Shipped {
  /// The file's stem: `02-targetport`, `02-targetport.exercise`, `misconfigured`.
  id: string;
  /// `scenarios/lessons/02-targetport.yaml`
  path: string;
  title: string;
  text: string;
}

export interface Lesson {
  lesson: Shipped;
  exercise: Shipped | null;
}

function stem(path: string): string {
  return path.replace(/^.*\//, '').replace(/\.yaml$/, '');
}

/// `spec.title` as written (the page shows the simulator's reading once it ran).
function titleOf(text: string, fallback: string): string {
  const m = /^\s{2}title:\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|(.+?))\s*$/m.exec(text);
  return (m?.[1] ?? m?.[2] ?? m?.[3] ?? fallback).trim();
}

function shipped(path: string, text: string): Shipped {
  const id = stem(path);
  return { id, path: path.replace(/^(\.\.\/)+/, ''), title: titleOf(text, id), text };
}

export const MISCONFIGURED: Shipped = shipped('../../../scenarios/misconfigured.yaml', misconfigured);

export const LESSONS: Lesson[] = (() => {
  const all = Object.entries(lessonFiles)
    .map(([p, t]) => shipped(p, t))
    .sort((a, b) => a.id.localeCompare(b.id));
  const lessons = all.filter((s) => !s.id.endsWith('.exercise'));
  return lessons.map((lesson) => ({
    lesson,
    exercise: all.find((s) => s.id === `${lesson.id}.exercise`) ?? null,
  }));
})();

export const EXAMPLES: Shipped[] = [
  MISCONFIGURED,
  ...Object.entries(mistakeFiles)
    .map(([p, t]) => shipped(p, t))
    .sort((a, b) => a.id.localeCompare(b.id)),
];

export function findShipped(id: string): Shipped | null {
  for (const l of LESSONS) {
    if (l.lesson.id === id) return l.lesson;
    if (l.exercise?.id === id) return l.exercise;
  }
  return EXAMPLES.find((e) => e.id === id) ?? null;
}
