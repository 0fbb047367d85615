//! The demo catalog, generated deterministically: the same index always yields the same product, so seeding
//! can be repeated (or resumed after a crash) and only what is missing gets created.

/// A category as (slug, name).
pub type CategoryName = (&'static str, &'static str);

/// A top-level category and its children: (slug, name, children).
pub const CATEGORIES: &[(&str, &str, &[CategoryName])] = &[
    (
        "shoes",
        "Shoes",
        &[
            ("running-shoes", "Running Shoes"),
            ("trail-shoes", "Trail Shoes"),
            ("sneakers", "Casual Sneakers"),
        ],
    ),
    (
        "apparel",
        "Apparel",
        &[
            ("tops", "Tops and Tees"),
            ("jackets", "Jackets"),
            ("pants", "Pants"),
        ],
    ),
    (
        "outdoor",
        "Outdoor",
        &[
            ("camping", "Camping"),
            ("hiking", "Hiking Gear"),
            ("climbing", "Climbing"),
        ],
    ),
    (
        "electronics",
        "Electronics",
        &[
            ("audio", "Headphones and Audio"),
            ("phone-accessories", "Phone Accessories"),
            ("smart-home", "Smart Home"),
        ],
    ),
    (
        "home-kitchen",
        "Home and Kitchen",
        &[
            ("cookware", "Cookware"),
            ("coffee-tea", "Coffee and Tea"),
            ("decor", "Home Decor"),
        ],
    ),
    (
        "beauty",
        "Beauty",
        &[("skincare", "Skincare"), ("makeup", "Makeup")],
    ),
    (
        "sports",
        "Sports and Fitness",
        &[
            ("fitness", "Fitness"),
            ("cycling", "Cycling"),
            ("yoga", "Yoga"),
        ],
    ),
    (
        "books-stationery",
        "Books and Stationery",
        &[("notebooks", "Notebooks"), ("pens", "Pens and Markers")],
    ),
];

/// Demo sellers: (username, shop name, brand used in their product titles).
pub const SELLERS: &[(&str, &str, &str)] = &[
    ("ridgeline", "Ridgeline Outfitters", "Ridgeline"),
    ("urbanthread", "Urban Thread", "Urbanthread"),
    ("voltbay", "Volt Bay Electronics", "Voltbay"),
    ("hearthstone", "Hearthstone Home", "Hearthstone"),
    ("peakform", "Peak Form Sports", "Peakform"),
];

pub const SELLER_PASSWORD: &str = "demo-seller-pass";
pub const DEMO_USERNAME: &str = "demo";
pub const DEMO_EMAIL: &str = "demo@tokshop.example";
pub const DEMO_PASSWORD: &str = "demo-shopper-pass";

/// What products of one leaf category look like.
struct Kind {
    slug: &'static str,
    nouns: &'static [&'static str],
    /// Lowest and highest base price in minor units.
    price: (i64, i64),
    /// Option axes: (name, values); a product takes two or three values of each axis.
    axes: &'static [(&'static str, &'static [&'static str])],
    blurb: &'static str,
}

const COLOURS: &[&str] = &["black", "blue", "red", "grey", "green", "white"];
const SHOE_SIZES: &[&str] = &["40", "41", "42", "43", "44", "45"];
const SIZES: &[&str] = &["XS", "S", "M", "L", "XL"];

const KINDS: &[Kind] = &[
    Kind {
        slug: "running-shoes",
        nouns: &["Road Runner", "Tempo Trainer", "Marathon Racer"],
        price: (5900, 15900),
        axes: &[("colour", COLOURS), ("size", SHOE_SIZES)],
        blurb: "cushioned running shoe for daily miles on the road",
    },
    Kind {
        slug: "trail-shoes",
        nouns: &[
            "Trail Runner",
            "Mountain Trail Shoe",
            "Rock Grip Trail Shoe",
        ],
        price: (4900, 13900),
        axes: &[("colour", COLOURS), ("size", SHOE_SIZES)],
        blurb: "trail running shoe with a grippy lugged outsole for rocky and muddy paths",
    },
    Kind {
        slug: "sneakers",
        nouns: &["Court Sneaker", "Canvas Low Top", "Street Sneaker"],
        price: (3900, 9900),
        axes: &[("colour", COLOURS), ("size", SHOE_SIZES)],
        blurb: "everyday sneaker with a soft footbed",
    },
    Kind {
        slug: "tops",
        nouns: &["Cotton Tee", "Performance Tank", "Merino Long Sleeve"],
        price: (1500, 6500),
        axes: &[("colour", COLOURS), ("size", SIZES)],
        blurb: "breathable top that layers well",
    },
    Kind {
        slug: "jackets",
        nouns: &["Rain Shell", "Puffer Jacket", "Fleece Jacket"],
        price: (6900, 24900),
        axes: &[("colour", COLOURS), ("size", SIZES)],
        blurb: "jacket that keeps out wind and rain",
    },
    Kind {
        slug: "pants",
        nouns: &["Hiking Pants", "Chino", "Jogger"],
        price: (3500, 9900),
        axes: &[("colour", COLOURS), ("size", SIZES)],
        blurb: "comfortable pants with stretch and deep pockets",
    },
    Kind {
        slug: "camping",
        nouns: &["Two Person Tent", "Sleeping Bag", "Camp Stove"],
        price: (2900, 29900),
        axes: &[("colour", &["green", "orange", "grey"])],
        blurb: "camping essential that packs small",
    },
    Kind {
        slug: "hiking",
        nouns: &["Daypack", "Trekking Poles", "Hydration Bladder"],
        price: (1900, 14900),
        axes: &[("colour", &["black", "blue", "green", "orange"])],
        blurb: "hiking gear built for long days on the trail",
    },
    Kind {
        slug: "climbing",
        nouns: &["Chalk Bag", "Climbing Harness", "Belay Device"],
        price: (1500, 8900),
        axes: &[("colour", &["black", "red", "yellow"])],
        blurb: "climbing gear tested for the crag and the gym",
    },
    Kind {
        slug: "audio",
        nouns: &[
            "Wireless Earbuds",
            "Over Ear Headphones",
            "Bluetooth Speaker",
        ],
        price: (2900, 34900),
        axes: &[("colour", &["black", "white", "blue"])],
        blurb: "audio gear with long battery life and clear sound",
    },
    Kind {
        slug: "phone-accessories",
        nouns: &["Phone Case", "Fast Charger", "Power Bank"],
        price: (900, 5900),
        axes: &[("colour", &["black", "white", "red", "blue"])],
        blurb: "phone accessory that fits most recent models",
    },
    Kind {
        slug: "smart-home",
        nouns: &["Smart Plug", "Smart Bulb", "Video Doorbell"],
        price: (1200, 17900),
        axes: &[("colour", &["white", "black"])],
        blurb: "smart home device that works with common voice assistants",
    },
    Kind {
        slug: "cookware",
        nouns: &["Cast Iron Skillet", "Nonstick Pan", "Dutch Oven"],
        price: (2500, 19900),
        axes: &[("size", &["20cm", "24cm", "28cm"])],
        blurb: "cookware that heats evenly and lasts for years",
    },
    Kind {
        slug: "coffee-tea",
        nouns: &["Pour Over Kettle", "French Press", "Loose Leaf Tea Set"],
        price: (1500, 8900),
        axes: &[("colour", &["black", "white", "copper"])],
        blurb: "brewing gear for a better morning cup",
    },
    Kind {
        slug: "decor",
        nouns: &["Linen Throw", "Ceramic Vase", "Table Lamp"],
        price: (1900, 12900),
        axes: &[("colour", &["white", "grey", "green", "blue"])],
        blurb: "decor piece with a calm, natural look",
    },
    Kind {
        slug: "skincare",
        nouns: &["Daily Moisturizer", "Vitamin C Serum", "Mineral Sunscreen"],
        price: (1200, 6900),
        axes: &[("size", &["30ml", "50ml", "100ml"])],
        blurb: "gentle skincare for every skin type",
    },
    Kind {
        slug: "makeup",
        nouns: &["Tinted Lip Balm", "Brow Pencil", "Cream Blush"],
        price: (900, 3900),
        axes: &[("shade", &["rose", "coral", "berry", "nude"])],
        blurb: "long wearing makeup with a natural finish",
    },
    Kind {
        slug: "fitness",
        nouns: &["Adjustable Dumbbell", "Resistance Bands", "Kettlebell"],
        price: (1500, 29900),
        axes: &[("weight", &["4kg", "8kg", "12kg", "16kg"])],
        blurb: "fitness gear for strength training at home",
    },
    Kind {
        slug: "cycling",
        nouns: &["Bike Helmet", "Cycling Gloves", "Bike Light Set"],
        price: (1500, 14900),
        axes: &[
            ("colour", &["black", "white", "red"]),
            ("size", &["S", "M", "L"]),
        ],
        blurb: "cycling gear for commutes and long rides",
    },
    Kind {
        slug: "yoga",
        nouns: &["Yoga Mat", "Yoga Block", "Yoga Strap"],
        price: (900, 8900),
        axes: &[("colour", &["purple", "blue", "green", "black"])],
        blurb: "yoga gear with a non slip grip",
    },
    Kind {
        slug: "notebooks",
        nouns: &["Dotted Notebook", "Pocket Journal", "Sketchbook"],
        price: (700, 3500),
        axes: &[("size", &["A5", "A4", "B6"])],
        blurb: "notebook with thick paper that resists bleed through",
    },
    Kind {
        slug: "pens",
        nouns: &["Gel Pen Set", "Fountain Pen", "Brush Marker Set"],
        price: (500, 9900),
        axes: &[("colour", &["black", "blue", "assorted"])],
        blurb: "smooth writing pens for notes and sketches",
    },
];

const ADJECTIVES: &[&str] = &[
    "Swift", "Classic", "Ultra", "Everyday", "Pro", "Light", "Summit", "Urban", "Prime", "Nova",
];

/// A demo product ready to send to the catalog.
#[derive(Debug, Clone)]
pub struct DemoProduct {
    pub seller: usize,
    pub category_slug: &'static str,
    pub title: String,
    pub description: String,
    pub image_urls: Vec<String>,
    pub variants: Vec<DemoVariant>,
}

#[derive(Debug, Clone)]
pub struct DemoVariant {
    pub sku: String,
    pub options: Vec<(String, String)>,
    pub price_minor: i64,
    pub stock: i64,
}

/// splitmix64: a tiny, well-mixed generator so each product is a pure function of its index.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn pick(seed: u64, len: usize) -> usize {
    (seed % len.max(1) as u64) as usize
}

/// The `index`-th demo product.
pub fn product(index: usize) -> DemoProduct {
    let kind = &KINDS[index % KINDS.len()];
    let round = index / KINDS.len();
    let seed = mix(index as u64);
    let seller = (index % KINDS.len()) % SELLERS.len();
    let brand = SELLERS[seller].2;
    let adjective = ADJECTIVES[pick(seed, ADJECTIVES.len())];
    let noun = kind.nouns[round % kind.nouns.len()];
    let title = format!("{brand} {adjective} {noun} {}", round + 1);
    let (low, high) = kind.price;
    // Prices end in 99 or 49, like a real shop's.
    let base = low + (mix(seed) % (high - low).max(1) as u64) as i64;
    let base = (base / 100) * 100 + if seed.is_multiple_of(2) { 99 } else { 49 };

    // Two or three values of each axis, starting at a product-specific offset.
    let mut combos: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for (a, (name, values)) in kind.axes.iter().enumerate() {
        let take = if kind.axes.len() > 1 {
            2 + (seed >> (8 + a)) as usize % 2
        } else {
            3
        };
        let start = pick(seed >> (16 + 4 * a), values.len());
        let chosen: Vec<&str> = (0..take.min(values.len()))
            .map(|k| values[(start + k) % values.len()])
            .collect();
        combos = combos
            .into_iter()
            .flat_map(|prefix| {
                chosen.iter().map(move |value| {
                    let mut next = prefix.clone();
                    next.push(((*name).to_owned(), (*value).to_owned()));
                    next
                })
            })
            .collect();
    }
    let sold_out = index % 9 == 4;
    let variants = combos
        .into_iter()
        .enumerate()
        .map(|(v, options)| {
            let vseed = mix(seed ^ (v as u64 + 1));
            let stock = if sold_out || vseed.is_multiple_of(6) {
                0
            } else {
                (vseed % 40) as i64 + 1
            };
            let sku_suffix: Vec<String> = options
                .iter()
                .map(|(_, value)| value.to_uppercase())
                .collect();
            DemoVariant {
                sku: format!(
                    "{}-{:05}-{}",
                    kind.slug.to_uppercase(),
                    index,
                    sku_suffix.join("-")
                ),
                // Bigger sizes of some products cost a little more, so price ranges are real.
                price_minor: base
                    + if v >= 3 && seed.is_multiple_of(3) {
                        500
                    } else {
                        0
                    },
                stock,
                options,
            }
        })
        .collect();
    DemoProduct {
        seller,
        category_slug: kind.slug,
        description: format!(
            "The {brand} {adjective} {noun} is a {} from {}. Free returns within 30 days.",
            kind.blurb, SELLERS[seller].1
        ),
        image_urls: vec![format!(
            "https://cdn.tokshop.example/products/{}/{index}.jpg",
            kind.slug
        )],
        title,
        variants,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_are_deterministic_unique_and_valid() {
        let mut titles = std::collections::HashSet::new();
        for i in 0..500 {
            let p = product(i);
            assert_eq!(p.title, product(i).title);
            assert!(
                titles.insert(p.title.clone()),
                "duplicate title {}",
                p.title
            );
            assert!(!p.variants.is_empty() && p.variants.len() <= 12);
            assert!(p.variants.iter().all(|v| v.price_minor > 0 && v.stock >= 0));
            let leaf_slugs: Vec<&str> = CATEGORIES
                .iter()
                .flat_map(|(_, _, kids)| kids.iter().map(|k| k.0))
                .collect();
            assert!(leaf_slugs.contains(&p.category_slug));
        }
    }

    #[test]
    fn the_demo_journey_exists() {
        // "trail shoes under 80, the blue 42": at least one in stock among the first 200.
        let found = (0..200).map(product).any(|p| {
            p.category_slug == "trail-shoes"
                && p.variants.iter().any(|v| {
                    v.price_minor < 8000
                        && v.stock > 0
                        && v.options.contains(&("colour".into(), "blue".into()))
                        && v.options.contains(&("size".into(), "42".into()))
                })
        });
        assert!(found);
    }
}
