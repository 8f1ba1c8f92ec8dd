// A real GraphQL server for Pacer's connector tests, on graphql-yoga (npm).
// It behaves as shop APIs do: errors come in 200 answers, a wrong token is
// FORBIDDEN, an unknown SKU is NOT_FOUND, and a mutation takes one record
// or a list (all or nothing, or item by item with a result each). Like Shopify's, its variants are updated by the shop's own id
// (gid://shop/ProductVariant/N), which `variants` lists with each SKU;
// `addVariant` creates one, as a merchant would. It listens on 127.0.0.1, on a free port it prints first:
//   listening on http://127.0.0.1:PORT/graphql
import { createServer } from "node:http";
import { GraphQLError } from "graphql";
import { createSchema, createYoga } from "graphql-yoga";

const TOKEN = process.env.GRAPHQL_TOKEN ?? "s3cret";
const prices = new Map();
// The shop knows these SKUs; any other is NOT_FOUND.
const known = (sku) => /^SKU-\d+$/.test(sku);

function authorize(context) {
  if (context.request.headers.get("authorization") !== `Bearer ${TOKEN}`) {
    throw new GraphQLError("FORBIDDEN: the token is missing or wrong", {
      extensions: { code: "FORBIDDEN" },
    });
  }
}

// The variants the shop has, by id; SKU-1 to SKU-5 to start with.
const variants = new Map();
let nextVariant = 101;
function addVariant(sku) {
  const id = `gid://shop/ProductVariant/${nextVariant++}`;
  variants.set(id, { id, sku, price: null });
  return id;
}
for (let n = 1; n <= 5; n++) addVariant(`SKU-${n}`);

function set(sku, price) {
  if (!known(sku)) {
    throw new GraphQLError(`NOT_FOUND: no variant with SKU ${sku}`, {
      extensions: { code: "NOT_FOUND" },
    });
  }
  prices.set(sku, price);
  return true;
}

const yoga = createYoga({
  logging: false,
  maskedErrors: false,
  schema: createSchema({
    typeDefs: `
      input PriceInput { sku: String!, price: String! }
      type Variant { id: ID!, sku: String!, price: String }
      type PriceResult { sku: String!, ok: Boolean!, error: String }
      type VariantPage { nodes: [Variant!]!, next: String }
      type Query {
        price(sku: String!): String
        variants: [Variant!]!
        variantPage(after: String): VariantPage!
        variant(id: ID!): Variant
      }
      type Mutation {
        setPrice(sku: String!, price: String!): Boolean!
        setPrices(input: [PriceInput!]!): Int!
        setVariantPrice(id: ID!, price: String!): Boolean!
        setPricesEach(input: [PriceInput!]!): [PriceResult!]!
        addVariant(sku: String!): ID!
      }
    `,
    resolvers: {
      Query: {
        price: (_, { sku }) => prices.get(sku) ?? null,
        variants: (_, __, context) => {
          authorize(context);
          return [...variants.values()];
        },
        variant: (_, { id }) => variants.get(id) ?? null,
        // Two a page, as cursor-paged shop APIs list: `next` is the cursor
        // of the page after, null on the last.
        variantPage: (_, { after }, context) => {
          authorize(context);
          const all = [...variants.values()];
          const from = after ? Number(after) : 0;
          const next = from + 2 < all.length ? String(from + 2) : null;
          return { nodes: all.slice(from, from + 2), next };
        },
      },
      Mutation: {
        setPrice: (_, { sku, price }, context) => {
          authorize(context);
          return set(sku, price);
        },
        setPrices: (_, { input }, context) => {
          authorize(context);
          input.forEach(({ sku, price }) => set(sku, price));
          return input.length;
        },
        // As bulk mutations of shop APIs do: what failed is reported per
        // item in the data, the rest is written.
        setPricesEach: (_, { input }, context) => {
          authorize(context);
          return input.map(({ sku, price }) => {
            try {
              set(sku, price);
              return { sku, ok: true, error: null };
            } catch (e) {
              return { sku, ok: false, error: e.message };
            }
          });
        },
        setVariantPrice: (_, { id, price }, context) => {
          authorize(context);
          const variant = variants.get(id);
          if (!variant) {
            throw new GraphQLError(`NOT_FOUND: no variant ${id}`, {
              extensions: { code: "NOT_FOUND" },
            });
          }
          variant.price = price;
          return true;
        },
        addVariant: (_, { sku }, context) => {
          authorize(context);
          return addVariant(sku);
        },
      },
    },
  }),
});

const server = createServer(yoga);
server.listen(0, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/graphql`);
});
