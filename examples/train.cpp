// SPDX-License-Identifier: MIT
// The C example (train.c) in C++: minicnn's C API through the headers' extern "C" guards,
// with the library's objects owned by std::unique_ptr. Trains a small network on the first N
// images of an IDX data set (MNIST or Fashion-MNIST, .gz or not) and saves the model.
//
//   train_cpp TRAIN-IMAGES TRAIN-LABELS TEST-IMAGES TEST-LABELS MODEL [N]
//
// Build: c++ train.cpp $(pkg-config --cflags --libs minicnn) -o train_cpp
#include <cstdlib>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

#include <minicnn/minicnn.h>

namespace
{

struct ctx_deleter {
    void operator()(mc_ctx *ctx) const
    {
        mc_ctx_destroy(ctx);
    }
};
struct net_deleter {
    void operator()(mc_net *net) const
    {
        mc_net_destroy(net);
    }
};
using ctx_ptr = std::unique_ptr<mc_ctx, ctx_deleter>;
using net_ptr = std::unique_ptr<mc_net, net_deleter>;

// A data set released through the context that read it.
class dataset
{
  public:
    dataset(mc_ctx *ctx, const char *images, const char *labels) : ctx_(ctx), ds_()
    {
        check(mc_dataset_read_idx(ctx, images, labels, &ds_), std::string("reading ") + images);
    }
    ~dataset()
    {
        mc_dataset_release(ctx_, &ds_);
    }
    dataset(const dataset &) = delete;
    dataset &operator=(const dataset &) = delete;
    int size() const
    {
        return ds_.shape.dims[0];
    }
    mc_dataset head(int n) const
    {
        return mc_dataset_head(&ds_, n < size() ? n : size());
    }

    // Throws the context's message when st is not MC_OK.
    void check(mc_status st, const std::string &step) const
    {
        if (st != MC_OK)
            throw std::runtime_error(step + ": " + mc_ctx_message(ctx_));
    }

  private:
    mc_ctx *ctx_;
    mc_dataset ds_;
};

const char network[] = "layers = [\n"
                       "    imageInputLayer([28 28 1])\n"
                       "    convolution2dLayer(3,8,'Padding','same')\n"
                       "    batchNormalizationLayer\n"
                       "    reluLayer\n"
                       "    maxPooling2dLayer(2,'Stride',2)\n"
                       "    fullyConnectedLayer(10)\n"
                       "    softmaxLayer\n"
                       "    classificationLayer];\n";

} // namespace

int main(int argc, char **argv)
{
    if (argc != 6 && argc != 7) {
        std::cerr << "usage: " << argv[0]
                  << " TRAIN-IMAGES TRAIN-LABELS TEST-IMAGES TEST-LABELS MODEL [N]\n";
        return 2;
    }
    const int n = argc == 7 ? std::atoi(argv[6]) : 2000;
    std::cout << "minicnn " << mc_version() << " from C++\n";
    mc_ctx *raw = nullptr;
    if (mc_ctx_create(nullptr, 7, &raw) != MC_OK) {
        std::cerr << "train_cpp: out of memory\n";
        return 1;
    }
    ctx_ptr ctx(raw);
    try {
        dataset train(ctx.get(), argv[1], argv[2]);
        dataset test(ctx.get(), argv[3], argv[4]);
        const mc_dataset part = train.head(n > 0 ? n : train.size());
        const mc_dataset test_part = test.head(part.shape.dims[0]);

        mc_net *built = nullptr;
        train.check(mc_netfile_parse(ctx.get(), network, sizeof network - 1, "example.net", &built,
                                     nullptr),
                    "building the network");
        net_ptr net(built);
        mc_train_options o = mc_train_default(MC_SOLVER_SGDM);
        o.max_epochs = 1;
        o.mini_batch_size = 32;
        train.check(mc_net_assemble(net.get(), o.mini_batch_size), "assembling");
        train.check(mc_net_fit_input(net.get(), &part, 1000), "fitting the input statistics");
        train.check(mc_train(net.get(), &part, &o, nullptr, nullptr), "training");
        double accuracy = 0, loss = 0;
        train.check(mc_evaluate(net.get(), &test_part, &accuracy, &loss), "evaluating");
        std::cout << "trained on " << part.shape.dims[0] << " images: test accuracy "
                  << 100 * accuracy << " % on " << test_part.shape.dims[0] << " images\n";
        train.check(mc_model_save(net.get(), argv[5]), "saving the model");
        std::cout << "saved " << argv[5] << "\n";
    } catch (const std::exception &e) {
        std::cerr << "train_cpp: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
