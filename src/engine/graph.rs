//! The dependency graph of desired resources: validated (unique ids, known deps, no cycles),
//! ordered, sliced by `--target`, printed as DOT. Knows nothing of what the nodes are.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use thiserror::Error;

use super::node::{Node, ResourceId};

#[derive(Debug, Error, PartialEq)]
pub enum GraphError {
    #[error("resource id `{0}` is defined twice")]
    Duplicate(ResourceId),
    #[error("`{node}` depends on `{dep}`, which is not in the graph")]
    UnknownDependency { node: ResourceId, dep: ResourceId },
    #[error("dependency cycle: {}", display_cycle(.0))]
    Cycle(Vec<ResourceId>),
    #[error("--target `{target}` is not a resource of this profile{}", suggestion(.closest))]
    UnknownTarget {
        target: String,
        closest: Option<String>,
    },
}

fn display_cycle(c: &[ResourceId]) -> String {
    let mut s: Vec<&str> = c.iter().map(ResourceId::as_str).collect();
    if let Some(first) = c.first() {
        s.push(first.as_str());
    }
    s.join(" -> ")
}

fn suggestion(closest: &Option<String>) -> String {
    closest
        .as_ref()
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

#[derive(Debug, Clone, Default)]
pub struct Graph {
    nodes: Vec<Node>,
    index: HashMap<ResourceId, usize>,
}

impl Graph {
    pub fn new(nodes: Vec<Node>) -> Result<Graph, GraphError> {
        let mut index = HashMap::with_capacity(nodes.len());
        for (i, n) in nodes.iter().enumerate() {
            if index.insert(n.id.clone(), i).is_some() {
                return Err(GraphError::Duplicate(n.id.clone()));
            }
        }
        for n in &nodes {
            for d in &n.deps {
                if !index.contains_key(d) {
                    return Err(GraphError::UnknownDependency {
                        node: n.id.clone(),
                        dep: d.clone(),
                    });
                }
            }
        }
        let g = Graph { nodes, index };
        if let Some(cycle) = g.find_cycle() {
            return Err(GraphError::Cycle(cycle));
        }
        Ok(g)
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn get(&self, id: &ResourceId) -> Option<&Node> {
        self.index.get(id).map(|&i| &self.nodes[i])
    }

    pub fn contains(&self, id: &ResourceId) -> bool {
        self.index.contains_key(id)
    }

    /// Depth-first search with colours; on a back edge, the stack from the target is the cycle.
    fn find_cycle(&self) -> Option<Vec<ResourceId>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Colour {
            White,
            Grey,
            Black,
        }
        let mut colour = vec![Colour::White; self.nodes.len()];
        let mut stack: Vec<usize> = Vec::new();
        for start in 0..self.nodes.len() {
            if colour[start] != Colour::White {
                continue;
            }
            // Iterative DFS: (node, next dep index to visit).
            let mut work = vec![(start, 0usize)];
            colour[start] = Colour::Grey;
            stack.push(start);
            while let Some(&mut (n, ref mut next)) = work.last_mut() {
                let deps = &self.nodes[n].deps;
                if *next < deps.len() {
                    let d = self.index[&deps[*next]];
                    *next += 1;
                    match colour[d] {
                        Colour::White => {
                            colour[d] = Colour::Grey;
                            stack.push(d);
                            work.push((d, 0));
                        }
                        Colour::Grey => {
                            let from = stack.iter().position(|&x| x == d).unwrap_or(0);
                            return Some(
                                stack[from..]
                                    .iter()
                                    .map(|&i| self.nodes[i].id.clone())
                                    .collect(),
                            );
                        }
                        Colour::Black => {}
                    }
                } else {
                    colour[n] = Colour::Black;
                    stack.pop();
                    work.pop();
                }
            }
        }
        None
    }

    /// Dependencies first; ties broken by declaration order, so output is stable.
    pub fn topo_order(&self) -> Vec<&Node> {
        let n = self.nodes.len();
        let mut indegree: Vec<usize> = self.nodes.iter().map(|x| x.deps.len()).collect();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, node) in self.nodes.iter().enumerate() {
            for d in &node.deps {
                dependents[self.index[d]].push(i);
            }
        }
        let mut ready: BTreeSet<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
        let mut out = Vec::with_capacity(n);
        while let Some(i) = ready.pop_first() {
            out.push(&self.nodes[i]);
            for &j in &dependents[i] {
                indegree[j] -= 1;
                if indegree[j] == 0 {
                    ready.insert(j);
                }
            }
        }
        out
    }

    /// The targets and everything they depend on, transitively.
    pub fn with_dependencies(
        &self,
        targets: &[ResourceId],
    ) -> Result<BTreeSet<ResourceId>, GraphError> {
        self.check_targets(targets)?;
        let mut seen = BTreeSet::new();
        let mut todo: Vec<ResourceId> = targets.to_vec();
        while let Some(id) = todo.pop() {
            if seen.insert(id.clone())
                && let Some(node) = self.get(&id)
            {
                todo.extend(node.deps.iter().cloned());
            }
        }
        Ok(seen)
    }

    fn check_targets(&self, targets: &[ResourceId]) -> Result<(), GraphError> {
        for t in targets {
            if !self.contains(t) {
                let ids = self.nodes.iter().map(|n| n.id.as_str());
                return Err(GraphError::UnknownTarget {
                    target: t.to_string(),
                    closest: crate::suggest::closest(t.as_str(), ids).map(str::to_owned),
                });
            }
        }
        Ok(())
    }

    /// Graphviz DOT: an edge points from a resource to what it depends on.
    pub fn to_dot(&self) -> String {
        let mut s = String::from("digraph alpaka {\n  rankdir = \"RL\";\n  node [shape = box];\n");
        for n in &self.nodes {
            let _ = writeln!(s, "  \"{}\" [label = \"{}\\n({})\"];", n.id, n.id, n.kind);
        }
        for n in &self.nodes {
            for d in &n.deps {
                let _ = writeln!(s, "  \"{}\" -> \"{}\";", n.id, d);
            }
        }
        s.push_str("}\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Value;

    fn n(id: &str, deps: &[&str]) -> Node {
        deps.iter()
            .fold(Node::new(id, "test", Value::Null), |n, d| n.after(*d))
    }

    #[test]
    fn cycles_are_named() {
        let err = Graph::new(vec![
            n("a", &["c"]),
            n("b", &["a"]),
            n("c", &["b"]),
            n("d", &[]),
        ])
        .unwrap_err();
        assert_eq!(err.to_string(), "dependency cycle: a -> c -> b -> a");
        let err = Graph::new(vec![n("a", &["a"])]).unwrap_err();
        assert_eq!(err.to_string(), "dependency cycle: a -> a");
    }

    #[test]
    fn unknown_dependency_and_duplicates() {
        assert_eq!(
            Graph::new(vec![n("a", &["zz"])]).unwrap_err().to_string(),
            "`a` depends on `zz`, which is not in the graph"
        );
        assert!(matches!(
            Graph::new(vec![n("a", &[]), n("a", &[])]),
            Err(GraphError::Duplicate(_))
        ));
    }

    #[test]
    fn topo_order_puts_dependencies_first_and_is_stable() {
        let g = Graph::new(vec![
            n("app", &["db", "net"]),
            n("db", &["net"]),
            n("net", &[]),
            n("x", &[]),
        ])
        .unwrap();
        let order: Vec<&str> = g.topo_order().iter().map(|n| n.id.as_str()).collect();
        assert_eq!(order, ["net", "db", "app", "x"]);
    }

    #[test]
    fn targets_pull_in_dependencies() {
        let g = Graph::new(vec![
            n("app", &["db"]),
            n("db", &["net"]),
            n("net", &[]),
            n("x", &[]),
        ])
        .unwrap();
        let sel = g.with_dependencies(&["db".into()]).unwrap();
        assert_eq!(
            sel.iter().map(|i| i.as_str()).collect::<Vec<_>>(),
            ["db", "net"]
        );
        let err = g.with_dependencies(&["dbb".into()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--target `dbb` is not a resource of this profile (did you mean `db`?)"
        );
    }

    #[test]
    fn dot_lists_edges() {
        let g = Graph::new(vec![n("a", &["b"]), n("b", &[])]).unwrap();
        assert!(g.to_dot().contains("\"a\" -> \"b\";"));
    }
}
