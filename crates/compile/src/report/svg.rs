//! Inline SVG pictures: stacked bars (storage, memory) and the dependency
//! graph. Laid out here, deterministically; no script runs in the page.

use super::esc;
use std::collections::BTreeMap;
use std::fmt::Write;

/// One segment of a stacked bar.
pub(crate) struct Segment {
    pub label: String,
    pub value: f64,
    /// A CSS class that colours it.
    pub class: &'static str,
}

/// A horizontal bar of `segments` against `total`, with vertical marks
/// (fractions of the total, e.g. 0.85) and a title per segment.
pub fn bar(segments: &[Segment], total: f64, marks: &[(f64, &str)]) -> String {
    const W: f64 = 1000.0;
    const H: f64 = 34.0;
    let mut svg = format!(
        r#"<svg class="bar" viewBox="0 0 {W} {}" role="img" preserveAspectRatio="none">"#,
        H + 16.0
    );
    let scale = if total > 0.0 {
        W / total.max(segments.iter().map(|s| s.value).sum())
    } else {
        0.0
    };
    let _ = write!(
        svg,
        r#"<rect class="track" x="0" y="0" width="{W}" height="{H}" rx="4"/>"#
    );
    let mut x = 0.0;
    for s in segments {
        let w = s.value * scale;
        let _ = write!(
            svg,
            r#"<rect class="{}" x="{x:.1}" y="0" width="{w:.1}" height="{H}"><title>{}</title></rect>"#,
            s.class,
            esc(&s.label)
        );
        x += w;
    }
    for (at, label) in marks {
        let mx = at * total * scale;
        let _ = write!(
            svg,
            r#"<line class="mark" x1="{mx:.1}" y1="-2" x2="{mx:.1}" y2="{}"/><text class="mark" x="{mx:.1}" y="{}" text-anchor="{}">{}</text>"#,
            H + 2.0,
            H + 14.0,
            // A mark at the right edge labels leftwards, inside the picture.
            if mx > W - 30.0 { "end" } else { "middle" },
            esc(label)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A node of the dependency graph.
pub(crate) struct Node {
    pub id: String,
    pub label: String,
    pub sub: String,
    pub class: &'static str,
}

/// Lays out a directed graph (edge `a → b`: a needs b) in columns: what
/// needs nothing sits right, each service left of what it needs.
pub fn graph(nodes: &[Node], edges: &[(String, String)]) -> String {
    let index: BTreeMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(n, node)| (node.id.as_str(), n))
        .collect();
    // Depth: the longest chain of needs below a node. Relax the edges until
    // nothing changes: as many rounds as the longest chain (a handful), not
    // as many as there are nodes. Cycles cannot occur in the catalog, and
    // are cut at the node count.
    let resolved: Vec<(usize, usize)> = edges
        .iter()
        .filter_map(|(a, b)| Some((*index.get(a.as_str())?, *index.get(b.as_str())?)))
        .collect();
    let mut depth = vec![0usize; nodes.len()];
    for _ in 0..nodes.len() {
        let mut changed = false;
        for &(ia, ib) in &resolved {
            if depth[ia] < depth[ib] + 1 {
                depth[ia] = depth[ib] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let columns = depth.iter().max().map_or(1, |d| d + 1);
    let mut rows = vec![0usize; columns];
    let mut place = vec![(0usize, 0usize); nodes.len()];
    for (n, d) in depth.iter().enumerate() {
        place[n] = (columns - 1 - d, rows[*d]);
        rows[*d] += 1;
    }
    const NW: f64 = 230.0;
    const NH: f64 = 46.0;
    const GX: f64 = 90.0;
    const GY: f64 = 18.0;
    let tallest = rows.iter().max().copied().unwrap_or(1).max(1);
    let width = columns as f64 * (NW + GX) - GX + 20.0;
    let height = tallest as f64 * (NH + GY) - GY + 20.0;
    let pos = |n: usize| {
        let (c, r) = place[n];
        (10.0 + c as f64 * (NW + GX), 10.0 + r as f64 * (NH + GY))
    };
    let mut svg = format!(
        r#"<svg class="graph" viewBox="0 0 {width:.0} {height:.0}" style="max-width: {width:.0}px" role="img"><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>"#
    );
    for (a, b) in edges {
        let (Some(&ia), Some(&ib)) = (index.get(a.as_str()), index.get(b.as_str())) else {
            continue;
        };
        let ((ax, ay), (bx, by)) = (pos(ia), pos(ib));
        let (x1, y1, x2, y2) = (ax + NW, ay + NH / 2.0, bx, by + NH / 2.0);
        let mid = (x1 + x2) / 2.0;
        let _ = write!(
            svg,
            r#"<path class="edge" data-from="{}" data-to="{}" d="M {x1:.1} {y1:.1} C {mid:.1} {y1:.1}, {mid:.1} {y2:.1}, {x2:.1} {y2:.1}" marker-end="url(#arrow)"/>"#,
            esc(a),
            esc(b)
        );
    }
    for (n, node) in nodes.iter().enumerate() {
        let (x, y) = pos(n);
        let _ = write!(
            svg,
            r#"<g class="node {}" data-id="{}"><rect x="{x:.1}" y="{y:.1}" width="{NW}" height="{NH}" rx="8"/><text x="{:.1}" y="{:.1}" class="name">{}</text><text x="{:.1}" y="{:.1}" class="sub">{}</text></g>"#,
            node.class,
            esc(&node.id),
            x + 12.0,
            y + 20.0,
            esc(&node.label),
            x + 12.0,
            y + 37.0,
            esc(&node.sub)
        );
    }
    svg.push_str("</svg>");
    svg
}
