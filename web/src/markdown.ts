// Just enough Markdown for the lessons' READMEs: headings, paragraphs, lists,
// fenced code, `code`, **bold**. It builds DOM nodes, never HTML strings.

import { el } from './dom.ts';

export function renderMarkdown(text: string): DocumentFragment {
  const out = document.createDocumentFragment();
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '') {
      i++;
      continue;
    }
    const fence = line.match(/^\s*```/);
    if (fence) {
      const code: string[] = [];
      const indent = line.indexOf('`');
      i++;
      while (i < lines.length && !/^\s*```/.test(lines[i]!)) code.push(lines[i++]!.slice(indent));
      i++;
      out.append(el('pre', {}, el('code', {}, code.join('\n'))));
      continue;
    }
    const heading = line.match(/^(#{1,4})\s+(.*)$/);
    if (heading) {
      const level = Math.min(heading[1]!.length + 1, 5) as 2 | 3 | 4 | 5;
      out.append(inline(el(`h${level}`), heading[2]!));
      i++;
      continue;
    }
    if (/^\s*([-*]|\d+\.)\s+/.test(line)) {
      const ordered = /^\s*\d+\./.test(line);
      const list = el(ordered ? 'ol' : 'ul');
      while (i < lines.length && /^\s*([-*]|\d+\.)\s+/.test(lines[i]!)) {
        const number = lines[i]!.match(/^\s*(\d+)\./)?.[1];
        let item = lines[i++]!.replace(/^\s*([-*]|\d+\.)\s+/, '');
        // An item keeps its own number: a code block between items must not restart the count.
        const li = number ? el('li', { value: number }) : el('li');
        // Continuation lines and nested fences belong to the item.
        while (
          i < lines.length &&
          /^\s{2,}\S/.test(lines[i]!) &&
          !/^\s*([-*]|\d+\.)\s+/.test(lines[i]!) &&
          !/^\s*```/.test(lines[i]!)
        )
          item += ' ' + lines[i++]!.trim();
        inline(li, item);
        if (i < lines.length && /^\s+```/.test(lines[i]!)) {
          const indent = lines[i]!.indexOf('`');
          const code: string[] = [];
          i++;
          while (i < lines.length && !/^\s*```/.test(lines[i]!)) code.push(lines[i++]!.slice(indent));
          i++;
          li.append(el('pre', {}, el('code', {}, code.join('\n'))));
        }
        list.append(li);
        // Blank lines inside a list: it goes on if the next line is another item.
        let next = i;
        while (next < lines.length && lines[next]!.trim() === '') next++;
        if (next > i && next < lines.length && /^\s*([-*]|\d+\.)\s+/.test(lines[next]!)) i = next;
      }
      out.append(list);
      continue;
    }
    const para: string[] = [];
    while (i < lines.length && lines[i]!.trim() !== '' && !/^(#{1,4}\s|\s*```|\s*([-*]|\d+\.)\s+)/.test(lines[i]!))
      para.push(lines[i++]!.trim());
    out.append(inline(el('p'), para.join(' ')));
  }
  return out;
}

/** `code` and **bold** inside a line; everything else is plain text. */
function inline<T extends HTMLElement>(node: T, text: string): T {
  for (const part of text.split(/(`[^`]+`|\*\*[^*]+\*\*)/)) {
    if (part.startsWith('`') && part.endsWith('`') && part.length > 1) node.append(el('code', {}, part.slice(1, -1)));
    else if (part.startsWith('**') && part.endsWith('**') && part.length > 4)
      node.append(el('strong', {}, part.slice(2, -2)));
    else if (part) node.append(document.createTextNode(part));
  }
  return node;
}
