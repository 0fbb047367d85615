//! The category tree (built here from the service's flat list) and admin creation of categories.

use std::collections::{HashMap, HashSet};

use tokshop_platform::non_empty;
use tokshop_proto::catalog as pb;

use crate::handler::prelude::*;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Category {
    pub id: String,
    pub name: String,
    pub slug: String,
    /// Null for a top-level category.
    pub parent_id: Option<String>,
    /// 0 for a top-level category.
    pub depth: i32,
}

impl From<pb::Category> for Category {
    fn from(c: pb::Category) -> Self {
        Self {
            id: c.id,
            name: c.name,
            slug: c.slug,
            parent_id: non_empty(c.parent_id),
            depth: c.depth,
        }
    }
}

/// A category with its subcategories, sorted by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CategoryNode {
    pub id: String,
    pub name: String,
    pub slug: String,
    /// Null at the top level.
    pub parent_id: Option<String>,
    #[schema(no_recursion)]
    pub children: Vec<CategoryNode>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CategoryTree {
    pub categories: Vec<CategoryNode>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewCategory {
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    /// Lowercase letters, digits and hyphens.
    #[schema(min_length = 1, max_length = 64)]
    pub slug: String,
    /// The parent category; absent for a top-level one.
    #[schema(max_length = 64)]
    pub parent_id: Option<String>,
}

/// Nests a flat category list. Every level is sorted by name (ties keep list order); a category whose parent is
/// missing is shown at the top level rather than dropped.
pub fn build_tree(categories: Vec<pb::Category>) -> Vec<CategoryNode> {
    let ids: HashSet<&str> = categories.iter().map(|c| c.id.as_str()).collect();
    let mut roots = Vec::new();
    let mut children: HashMap<String, Vec<pb::Category>> = HashMap::new();
    let orphan_or_root: Vec<bool> = categories
        .iter()
        .map(|c| {
            c.parent_id.is_empty() || c.parent_id == c.id || !ids.contains(c.parent_id.as_str())
        })
        .collect();
    for (category, is_root) in categories.into_iter().zip(orphan_or_root) {
        if is_root {
            // Shown at the top level, so it has no parent as far as the tree is concerned.
            roots.push(pb::Category {
                parent_id: String::new(),
                ..category
            });
        } else {
            children
                .entry(category.parent_id.clone())
                .or_default()
                .push(category);
        }
    }
    // Anything left in `children` after the walk sits on a cycle; it is unreachable from a root and dropped.
    nodes(roots, &mut children)
}

fn nodes(
    mut level: Vec<pb::Category>,
    children: &mut HashMap<String, Vec<pb::Category>>,
) -> Vec<CategoryNode> {
    level.sort_by(|a, b| a.name.cmp(&b.name));
    level
        .into_iter()
        .map(|c| {
            let kids = children.remove(&c.id).unwrap_or_default();
            CategoryNode {
                children: nodes(kids, children),
                parent_id: non_empty(c.parent_id),
                id: c.id,
                name: c.name,
                slug: c.slug,
            }
        })
        .collect()
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_categories, create_category))
}

/// The whole category tree.
#[utoipa::path(get, path = "/api/v1/categories", tag = "catalog", security((), ("bearer" = [])),
    responses((status = 200, description = "Top-level categories with their subcategories", body = CategoryTree)))]
async fn list_categories(
    State(state): State<AppState>,
    caller: MaybeAuth,
) -> ApiResult<Json<CategoryTree>> {
    let list = state
        .catalog()
        .list_categories(authorized(pb::ListCategoriesRequest {}, caller.token()))
        .await?
        .into_inner();
    Ok(Json(CategoryTree {
        categories: build_tree(list.categories),
    }))
}

/// Create a category (administrators only).
#[utoipa::path(post, path = "/api/v1/categories", tag = "catalog", security(("bearer" = [])), request_body = NewCategory,
    responses((status = 201, description = "Category created", body = Category),
        (status = 403, description = "Not an administrator", body = ErrorBody),
        (status = 409, description = "Slug taken", body = ErrorBody)))]
async fn create_category(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<NewCategory>,
) -> ApiResult<(StatusCode, Json<Category>)> {
    let request = pb::CreateCategoryRequest {
        parent_id: body.parent_id.unwrap_or_default(),
        name: body.name,
        slug: body.slug,
    };
    let request = authorized(request, user.token());
    created(state.catalog().create_category(request)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(id: &str, parent: &str, name: &str) -> pb::Category {
        pb::Category {
            id: id.into(),
            parent_id: parent.into(),
            name: name.into(),
            slug: name.to_lowercase(),
            depth: 0,
        }
    }

    #[test]
    fn nests_and_sorts_by_name() {
        let tree = build_tree(vec![
            cat("c1", "", "Fashion"),
            cat("c2", "", "Electronics"),
            cat("c3", "c2", "Phones"),
            cat("c4", "c2", "Laptops"),
            cat("c5", "c4", "Gaming"),
            cat("c6", "c1", "Shoes"),
        ]);
        let names: Vec<&str> = tree.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["Electronics", "Fashion"]);
        let electronics = &tree[0];
        assert_eq!(electronics.parent_id, None);
        let kids: Vec<&str> = electronics
            .children
            .iter()
            .map(|n| n.name.as_str())
            .collect();
        assert_eq!(kids, ["Laptops", "Phones"]);
        assert_eq!(electronics.children[0].children[0].name, "Gaming");
        assert_eq!(electronics.children[0].parent_id.as_deref(), Some("c2"));
        assert_eq!(tree[1].children[0].name, "Shoes");
    }

    #[test]
    fn children_listed_before_parents_and_orphans_survive() {
        let tree = build_tree(vec![
            cat("c3", "c1", "Sub"),
            cat("c1", "", "Top"),
            cat("c9", "gone", "Orphan"),
        ]);
        assert_eq!(tree.len(), 2);
        assert_eq!(tree[1].name, "Top");
        assert_eq!(tree[1].children[0].name, "Sub");
        assert_eq!(tree[0].name, "Orphan");
        assert_eq!(tree[0].parent_id, None);
    }

    #[test]
    fn cycles_do_not_loop() {
        let tree = build_tree(vec![
            cat("a", "b", "A"),
            cat("b", "a", "B"),
            cat("r", "", "Root"),
        ]);
        assert_eq!(tree.len(), 1);
        assert!(tree[0].children.is_empty());
    }

    #[test]
    fn empty_parent_is_null_in_json() {
        let json = serde_json::to_value(Category::from(cat("c1", "", "Top"))).unwrap();
        assert_eq!(json["parent_id"], serde_json::Value::Null);
    }
}
